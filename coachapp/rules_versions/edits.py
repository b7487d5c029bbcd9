"""The owner's editor (issue 15.2), pure: which values of the rule files an owner may change, and
targeted text edits that change them while keeping every comment and the layout.

A file is parsed with PyYAML's ``compose`` (nodes with their positions); an edited scalar's text
is replaced in place by a double-quoted YAML string or a number, so a diff shows exactly the
edited values. Fields are keyed by ids, not positions (``q.<question>.text``), so a form sent
after a question moved still edits the right question. Structural changes (new scoring rules,
new questions) are not offered: they stay in the files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import yaml

ASSESSMENT = "assessment/runner_assessment.yaml"
SEQUENCES = "sequences.yaml"
PRIORITY = "leads/priority.yaml"
AREAS = {"questions": (ASSESSMENT,), "sequences": (SEQUENCES,), "priority": (PRIORITY,)}
_DAY = re.compile(r"^[a-z]{3}$")


class EditError(ValueError):
    """An edit that cannot be made (a file that does not parse, a question that cannot move)."""


@dataclass(frozen=True)
class Field:
    key: str  # the form name, by ids: "q.age_band.text"
    file: str
    path: tuple[str | int, ...]  # where the value is in the file's data
    label: str  # what the owner sees
    value: str
    kind: str  # text | long | int | time | days
    group: str  # the heading it is shown under
    anchor: str  # how the loader names its rule: "question 'age_band'"
    attr: str = ""  # the key the loader names in a problem: 'text'
    moves: str = ""  # a question's id: offered up/down buttons


def _compose(texts: Mapping[str, str], file: str) -> yaml.Node:
    try:
        node = yaml.compose(texts.get(file, ""), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise EditError(f"{file} does not parse: {exc}") from exc
    if node is None:
        raise EditError(f"{file} is empty")
    return node


def _get(node: yaml.Node, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        return next((v for k, v in node.value if k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _at(root: yaml.Node, path: Iterable[str | int]) -> yaml.Node | None:
    node: yaml.Node | None = root
    for key in path:
        node = _get(node, key) if node is not None else None
    return node


def _items(node: yaml.Node | None) -> list:
    if isinstance(node, yaml.MappingNode):
        return [(k.value, v) for k, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


def _text(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return ", ".join(str(n.value) for n in node.value if isinstance(n, yaml.ScalarNode))
    return ""


def _ident(node: yaml.Node) -> str:
    return _text(_get(node, "id"))


def fields(texts: Mapping[str, str], area: str) -> list[Field]:
    """Every value the owner may change in ``area`` (questions, sequences, priority)."""
    if area not in AREAS:
        raise EditError(f"Unknown area {area!r}")
    return {"questions": _question_fields, "sequences": _sequence_fields, "priority": _priority_fields}[area](texts)


def _question_fields(texts: Mapping[str, str]) -> list[Field]:
    root, out = _compose(texts, ASSESSMENT), []
    for si, section in _items(_get(root, "sections")):
        sid = _ident(section)
        group, where = f"Section: {_text(_get(section, 'title'))}", f"section '{sid}'"
        base = ("sections", si)
        out.append(Field(f"s.{sid}.title", ASSESSMENT, (*base, "title"), "Section title", _text(_get(section, "title")),
                         "text", group, where, "title"))
        if _get(section, "intro") is not None:
            out.append(Field(f"s.{sid}.intro", ASSESSMENT, (*base, "intro"), "Section introduction",
                             _text(_get(section, "intro")), "long", group, where, "intro"))
        for qi, question in _items(_get(section, "questions")):
            qid, qpath = _ident(question), (*base, "questions", qi)
            where = f"question '{qid}'"
            out.append(Field(f"q.{qid}.text", ASSESSMENT, (*qpath, "text"), f"Question ({qid})",
                             _text(_get(question, "text")), "long", group, where, "text", moves=qid))
            out.append(Field(f"q.{qid}.help", ASSESSMENT, (*qpath, "help"), "Help (optional)",
                             _text(_get(question, "help")), "long", group, where, "help"))
            for key in ("options", "items"):
                for oi, option in _items(_get(question, key)):
                    value = _text(_get(option, "value"))
                    out.append(Field(f"q.{qid}.{key}.{value}", ASSESSMENT, (*qpath, key, oi, "label"),
                                     f"Option “{value}”", _text(_get(option, "label")), "text", group, where, "label"))
    return out


def _sequence_fields(texts: Mapping[str, str]) -> list[Field]:
    root, out = _compose(texts, SEQUENCES), []
    for name, window in _items(_get(root, "windows")):
        group, where = f"Send window “{name}” (the lead's local time)", f"window '{name}'"
        out.append(Field(f"w.{name}.days", SEQUENCES, ("windows", name, "days"), "Days (mon, tue, …)",
                         _text(_get(window, "days")), "days", group, where, "days"))
        for end in ("start", "end"):
            out.append(Field(f"w.{name}.{end}", SEQUENCES, ("windows", name, end), f"{end.title()} (HH:MM)",
                             _text(_get(window, end)), "time", group, where, end))
    for si, sequence in _items(_get(root, "sequences")):
        sid = _ident(sequence)
        group = f"Sequence: {_text(_get(sequence, 'name')) or sid}"
        for ti, step in _items(_get(sequence, "steps")):
            tid = _ident(step)
            for unit, value in _items(_get(step, "delay")):
                out.append(Field(f"st.{sid}.{tid}.{unit}", SEQUENCES, ("sequences", si, "steps", ti, "delay", unit),
                                 f"Step “{tid}”: delay in {unit}", _text(value), "int", group,
                                 f"step '{tid}'", "delay"))
    return out


def _priority_fields(texts: Mapping[str, str]) -> list[Field]:
    root, out = _compose(texts, PRIORITY), []
    for axis, rules in _items(_get(root, "scores")):
        for ri, rule in _items(rules):
            rid = _ident(rule)
            label = f"{rid}: {_text(_get(rule, 'reason'))}"
            out.append(Field(f"p.{rid}", PRIORITY, ("scores", axis, ri, "points"), label,
                             _text(_get(rule, "points")), "int", f"Points: {axis}", f"rule '{rid}'", "points"))
    for bands in ("fit_bands", "intent_bands"):
        for name, band in _items(_get(_get(root, "tiering"), bands)):
            for bound, value in _items(band):
                if bound in ("gte", "lt"):
                    label = f"{bands.split('_')[0].title()} {name}: {'from' if bound == 'gte' else 'below'}"
                    out.append(Field(f"b.{bands}.{name}.{bound}", PRIORITY, ("tiering", bands, name, bound), label,
                                     _text(value), "int", "Tier bands (0–100)", f"'{name}'", bound))
    for name, tier in _items(_get(root, "tiers")):
        out.append(Field(f"t.{name}.action", PRIORITY, ("tiers", name, "action"), f"Tier {name}: suggested action",
                         _text(_get(tier, "action")), "long", "Suggested action per tier", f"tier '{name}'", "action"))
    return out


def _scalar(field: Field, raw: str) -> str:
    """The YAML text for a submitted value (``ValueError`` with a message for the field)."""
    value = raw.strip()
    if field.kind == "int":
        if not re.fullmatch(r"-?\d{1,6}", value):
            raise ValueError("Enter a whole number.")
        return str(int(value))
    if field.kind == "days":
        days = [d.strip().lower() for d in value.split(",") if d.strip()]
        if not all(_DAY.match(d) for d in days):
            raise ValueError("List days as mon, tue, wed, thu, fri, sat, sun, separated by commas.")
        return "[" + ", ".join(days) + "]"
    if field.kind != "long":
        value = " ".join(value.split())
    return json.dumps(value.replace("\r\n", "\n"), ensure_ascii=False)  # JSON strings are YAML double-quoted


def _same(field: Field, raw: str) -> bool:
    if field.kind == "long":
        return raw.replace("\r\n", "\n").strip() == field.value.strip()
    if field.kind == "days":
        return [d.strip() for d in raw.split(",")] == [d.strip() for d in field.value.split(",")]
    return " ".join(raw.split()) == " ".join(field.value.split())


def apply(texts: Mapping[str, str], area: str, values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The texts with the submitted values written in, and the values that could not be (key → message).

    Only values that differ from the file are written; each replaces its scalar's text only."""
    out, errors = dict(texts), {}
    edits: dict[str, list[tuple[int, int, str]]] = {}
    for field in fields(texts, area):
        raw = values.get(field.key)
        if raw is None or _same(field, raw):
            continue
        try:
            new = _scalar(field, raw)
        except ValueError as exc:
            errors[field.key] = str(exc)
            continue
        root = _compose(texts, field.file)
        node = _at(root, field.path)
        if field.attr == "help":  # optional: added after the question's text, or removed when cleared
            edit = _help_edit(texts[field.file], _at(root, field.path[:-1]), new if raw.strip() else None)
            edits.setdefault(field.file, []).extend([edit] if edit else [])
            continue
        if node is None:
            errors[field.key] = "This value is no longer in the file; reload the page."
            continue
        edits.setdefault(field.file, []).append((node.start_mark.index, node.end_mark.index, new))
    for file, changes in edits.items():
        text = out[file]
        for start, end, new in sorted(changes, reverse=True):
            text = text[:start] + new + text[end:]
        out[file] = text
    return out, errors


def _help_edit(text: str, question: yaml.Node | None, new: str | None) -> tuple[int, int, str] | None:
    """Set, add (after ``text:``) or remove (``new`` None) a question's ``help``, in its own style."""
    if not isinstance(question, yaml.MappingNode):
        return None
    pairs = question.value
    keys = [k.value for k, _v in pairs]
    if "help" in keys:
        i = keys.index("help")
        key, value = pairs[i]
        if new is not None:
            return value.start_mark.index, value.end_mark.index, new
        if question.flow_style:  # ", help: …" goes with the comma before it
            return pairs[i - 1][1].end_mark.index, value.end_mark.index, ""
        start = text.rfind("\n", 0, key.start_mark.index) + 1
        end = text.find("\n", value.end_mark.index)
        return start, len(text) if end < 0 else end + 1, ""
    if new is None or "text" not in keys:
        return None
    key, value = pairs[keys.index("text")]
    if question.flow_style:
        return value.end_mark.index, value.end_mark.index, f", help: {new}"
    end = text.find("\n", value.end_mark.index)
    end = len(text) if end < 0 else end
    return end, end, "\n" + " " * key.start_mark.column + f"help: {new}"


def _end_line(node: yaml.Node) -> int:
    """The line after a node's last character (a block collection ends where its last value does)."""
    if isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end_line(last[1] if isinstance(last, tuple) else last)
    return node.end_mark.line + (1 if node.end_mark.column > 0 else 0)


def _lines_of(node: yaml.Node, next_start_line: int | None, lines: list[str]) -> tuple[int, int]:
    """The lines [first, last) a block sequence item occupies, without trailing blanks or comments."""
    first = node.start_mark.line
    last = next_start_line if next_start_line is not None else _end_line(node)
    while last > first + 1 and (not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")):
        last -= 1
    return first, last


def move_question(texts: Mapping[str, str], question: str, direction: str) -> dict[str, str]:
    """Swap a question with its neighbour in its section (``up`` or ``down``); the loader
    then checks that every ``show_if`` still refers to an earlier question."""
    root = _compose(texts, ASSESSMENT)
    for _si, section in _items(_get(root, "sections")):
        questions = [q for _i, q in _items(_get(section, "questions"))]
        ids = [_ident(q) for q in questions]
        if question not in ids:
            continue
        i = ids.index(question)
        j = i - 1 if direction == "up" else i + 1
        if direction not in ("up", "down") or not 0 <= j < len(questions):
            raise EditError(f"“{question}” is already {'first' if direction == 'up' else 'last'} in its section.")
        a, b = sorted((i, j))
        lines = texts[ASSESSMENT].splitlines(keepends=True)
        nexts = [q.start_mark.line for q in questions[1:]] + [None]
        (a0, a1), (b0, b1) = (_lines_of(questions[k], nexts[k], lines) for k in (a, b))
        moved = {**texts, ASSESSMENT: "".join(lines[:a0] + lines[b0:b1] + lines[a1:b0] + lines[a0:a1] + lines[b1:])}
        try:  # an alias (options: *left_pictures) must stay after its anchor, or the file no longer reads
            _compose(moved, ASSESSMENT)
        except EditError as exc:
            raise EditError(f"“{question}” shares its options with “{ids[j]}”, so it cannot move past it.") from exc
        return moved
    raise EditError(f"No question “{question}” in the assessment.")


def place(problems: Iterable[str], shown: Iterable[Field]) -> tuple[dict[str, list[str]], list[str]]:
    """Each loader problem next to the field it names (file, rule and key), else unplaced."""
    by_key: dict[str, list[str]] = {}
    rest: list[str] = []
    shown = list(shown)
    for problem in problems:
        mine = [f for f in shown if problem.startswith(f.file + ":") and f.anchor in problem]
        exact = [f for f in mine if f"'{f.attr}'" in problem or f.attr and f" {f.attr} " in problem]
        exact.sort(key=lambda f: f.value.strip() != "")  # "must be non-empty": the emptied one
        target = (exact or mine)[:1]
        if target:
            by_key.setdefault(target[0].key, []).append(problem)
        else:
            rest.append(problem)
    return by_key, rest
