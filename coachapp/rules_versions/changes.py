"""Pure: what changed between two versions, in the owner's words — for the audit log ("assessment:
question desk_hours text", "copy: assessment_plan subject", "sequences: assessment_nurture step 2
delay") and for the preview's "what changed" list (the questions whose screens to render, the
emails whose copy differs).

Values are compared field by field as the editor lists them (``edits.fields``, keyed by ids), so a
reworded comment or a moved line is not a changed field; a file that does not parse is named whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from coachapp.rules_versions.diff import diff_copy
from coachapp.rules_versions.edits import AREAS, EditError, Field, fields

#: The editor's areas and the word each change starts with.
PREFIX = {"questions": "assessment", "sequences": "sequences", "priority": "priority"}


@dataclass(frozen=True)
class Change:
    area: str  # questions | sequences | priority
    key: str  # the editor's field key: "q.desk_hours.text"
    words: str  # "assessment: question desk_hours text"
    question: str | None = None  # the question whose screen shows it (a section's first question)


def describe(key: str) -> str:
    """A field key in words, without the area prefix."""
    kind, _, rest = key.partition(".")
    if kind == "q":
        qid, _, what = rest.partition(".")
        if what.startswith(("options.", "items.")):
            return f"question {qid} option {what.partition('.')[2]} label"
        return f"question {qid} {what}"
    if kind == "s":
        sid, _, what = rest.rpartition(".")
        return f"section {sid} {what}"
    if kind == "w":
        name, _, what = rest.rpartition(".")
        return f"window {name} {what}"
    if kind == "st":
        sid, tid, unit = (rest.split(".", 2) + ["", ""])[:3]
        return f"{sid} step {tid} delay" + (f" ({unit})" if unit and unit != "days" else "")
    if kind == "p":
        return f"rule {rest} points"
    if kind == "b":
        bands, name, bound = (rest.split(".", 2) + ["", ""])[:3]
        return f"{bands.replace('_', ' ')} {name} {'from' if bound == 'gte' else 'below'}"
    if kind == "t":
        return f"tier {rest.rpartition('.')[0]} action"
    return key


def _first_questions(shown: Iterable[Field]) -> dict[str, str]:
    """Section id → its first question id."""
    out: dict[str, str] = {}
    for f in shown:
        if f.key.startswith("q."):
            section = f.path[1]
            out.setdefault(f"s{section}", f.key.split(".")[1])
    return out


def field_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    """Every editable value that differs from ``old`` to ``new``, in ``new``'s order."""
    out: list[Change] = []
    for area, files in AREAS.items():
        if all(old.get(f) == new.get(f) for f in files):
            continue
        try:
            before, after = fields(old, area), fields(new, area)
        except EditError:
            out += [Change(area, f, f"{PREFIX[area]}: {f} (does not parse)") for f in files
                    if old.get(f) != new.get(f)]
            continue
        was = {f.key: f.value for f in before}
        firsts = _first_questions(after)
        for f in after:
            if was.get(f.key) == f.value:
                continue
            question = f.key.split(".")[1] if f.key.startswith("q.") else \
                firsts.get(f"s{f.path[1]}") if f.key.startswith("s.") else None
            out.append(Change(area, f.key, f"{PREFIX[area]}: {describe(f.key)}", question))
        gone = sorted(set(was) - {f.key for f in after})
        out += [Change(area, k, f"{PREFIX[area]}: {describe(k)} (removed)") for k in gone]
    return out


def copy_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """"copy: <template> <field>" for each subject or body that differs."""
    return [f"copy: {d.template} {field}" for d in diff_copy(old, new, "a", "b") for field in d.fields]


def changed_questions(changes: Iterable[Change]) -> list[tuple[str, list[str]]]:
    """(question id, what changed on its screen) per question, in order."""
    out: dict[str, list[str]] = {}
    for c in changes:
        if c.question:
            out.setdefault(c.question, []).append(c.words.partition(": ")[2])
    return list(out.items())


def changed_files(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The rule files whose text differs (sorted)."""
    return sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
