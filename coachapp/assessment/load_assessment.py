"""Load and validate rules/assessment/*.yaml into the frozen Assessment model."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ._schema import Issues, Node, check_unique, file_header
from .conditions import RefType, compile_condition
from .measurement import load_measurement
from .model import (
    QUESTION_TYPES,
    Assessment,
    Budget,
    Option,
    Question,
    Section,
    SelfTest,
    TypeCost,
)

QUESTION_KEYS = (
    "id",
    "type",
    "text",
    "help",
    "required",
    "options",
    "items",
    "min",
    "max",
    "step",
    "unit",
    "placeholder",
    "show_if",
    "test",
    "safety_relevant",
    "screen",
)
RESERVED_IDS = ("flags",)  # a condition ref of its own
SELECT_TYPES = ("single_select", "multi_select")
NUMERIC_TYPES = ("integer", "number", "slider")
REF_KINDS = {
    "boolean": "bool",
    "single_select": "choice",
    "multi_select": "choices",
    "checklist": "choices",
    "integer": "number",
    "number": "number",
    "slider": "number",
    "date": "date",
    "text": "text",
}


def is_ident(value: Any) -> bool:
    """Lower-case letters, digits and underscores only (dots are reserved for refs)."""
    return (
        isinstance(value, str)
        and value != ""
        and value.replace("_", "a").isalnum()
        and value == value.lower()
    )


def load_self_tests(data: Any, issues: Issues, sources: Mapping[str, Any]) -> dict[str, SelfTest]:
    head = file_header(data, issues, ("tests",))
    tests: dict[str, SelfTest] = {}
    entries = head.list("tests")
    check_unique([t.get("id") for t in entries if isinstance(t, Mapping)], "test", issues)
    for entry in entries:
        ident = entry.get("id") if isinstance(entry, Mapping) else None
        node = Node(
            entry,
            f"test '{ident}'",
            issues,
            ("id", "title", "minutes", "instructions"),
            ("equipment", "safety_note", "sources", "measurement_error", "normal_band", "not_compared"),
        )
        instructions = node.str_list("instructions")
        if node.has("instructions") and not instructions:
            issues.add(node.where, "'instructions' must not be empty")
        tests[str(ident)] = SelfTest(
            id=str(ident),
            title=node.str("title") or "",
            equipment=node.str("equipment"),
            minutes=node.int("minutes") or 0,
            instructions=instructions,
            safety_note=node.str("safety_note"),
            sources=node.sources(sources),
            measurement=load_measurement(node, sources) if node.ok else None,
        )
    return tests


def _options(node: Node, key: str, qtype: str) -> tuple[Option, ...]:
    out = []
    for raw in node.list(key):
        opt = Node(raw, node.where, node.issues, ("value", "label"), ("exclusive",))
        value = opt.raw("value")
        if not isinstance(value, str) or not value:
            node.issues.add(
                node.where, f"option value {value!r} must be a non-empty string (quote it in YAML)"
            )
            continue
        exclusive = opt.bool("exclusive")
        if exclusive and qtype != "multi_select":
            node.issues.add(
                node.where, f"option '{value}': 'exclusive' only applies to multi_select"
            )
        out.append(Option(value, opt.str("label") or value, exclusive))
    check_unique([o.value for o in out], f"{node.where}: option", node.issues)
    if sum(o.exclusive for o in out) > 1:
        node.issues.add(node.where, "at most one option can be exclusive")
    return tuple(out)


def _check_shape(
    node: Node, qtype: str, options: tuple[Option, ...], items: tuple[Option, ...]
) -> None:
    where, issues = node.where, node.issues
    if qtype in SELECT_TYPES and len(options) < 2:
        issues.add(where, f"{qtype} needs at least two options")
    if qtype not in SELECT_TYPES and node.has("options"):
        issues.add(where, f"'options' is not used by type {qtype}")
    if qtype == "checklist" and not items:
        issues.add(where, "checklist needs 'items'")
    if qtype != "checklist" and node.has("items"):
        issues.add(where, f"'items' is not used by type {qtype}")
    if qtype in NUMERIC_TYPES:
        lo, hi = node.num("min"), node.num("max")
        if lo is None or hi is None or lo >= hi:
            issues.add(where, f"{qtype} needs numeric 'min' < 'max'")
        step = node.num("step")
        if step is not None and step <= 0:
            issues.add(where, "'step' must be positive")
        if qtype == "integer" and any(
            isinstance(node.raw(k), float) for k in ("min", "max", "step")
        ):
            issues.add(where, "integer min/max/step must be whole numbers")
    else:
        for key in ("min", "step", "unit") + (("max",) if qtype != "text" else ()):
            if node.has(key):
                issues.add(where, f"'{key}' is not used by type {qtype}")


def _question(
    raw: Any,
    issues: Issues,
    refs: dict[str, RefType],
    tests: Mapping[str, SelfTest],
) -> Question | None:
    ident = raw.get("id") if isinstance(raw, Mapping) else None
    node = Node(raw, f"question '{ident}'", issues, ("id", "type", "text"), QUESTION_KEYS)
    if not node.ok:
        return None
    if not is_ident(ident) or ident in RESERVED_IDS:
        issues.add(
            node.where, "id must use lower-case letters, digits and underscores (not 'flags')"
        )
    qtype = node.choice("type", QUESTION_TYPES)
    if qtype is None:
        return None
    options, items = _options(node, "options", qtype), _options(node, "items", qtype)
    _check_shape(node, qtype, options, items)
    show_if = None
    if node.has("show_if"):
        show_if = compile_condition(node.raw("show_if"), refs, issues, node.where)
    test = None
    if node.has("test"):
        test = tests.get(str(node.raw("test")))
        if test is None:
            issues.add(node.where, f"unknown test '{node.raw('test')}' (not in self_tests.yaml)")
    question = Question(
        id=str(ident),
        type=qtype,
        text=node.str("text") or "",
        help=node.str("help"),
        required=node.bool("required"),
        options=options,
        items=items,
        min=node.num("min"),
        max=node.num("max"),
        step=node.num("step"),
        unit=node.str("unit"),
        placeholder=node.str("placeholder"),
        show_if=show_if,
        show_if_refs=show_if.refs if show_if else (),
        show_if_spec=copy.deepcopy(node.raw("show_if")) if show_if else None,
        test=test,
        safety_relevant=node.bool("safety_relevant"),
        screen=node.str("screen"),
    )
    choices = frozenset(o.value for o in question.choices)
    refs[question.id] = RefType(REF_KINDS[qtype], choices)
    for item in items:
        refs[f"{question.id}.{item.value}"] = RefType("bool")
    return question


def load_assessment(
    data: Any, tests: Mapping[str, SelfTest], issues: Issues, refs: dict[str, RefType]
) -> Assessment:
    """Build the Assessment; question refs (for conditions) are added to ``refs``.

    ``show_if`` may only refer to questions that come earlier, so a form can be filled
    top to bottom and the web steps never depend on a later step.
    """
    head = file_header(data, issues, ("id", "title", "sections", "budget"), ("retake_prefill",))
    sections: list[Section] = []
    all_ids: list[str] = []
    raw_sections = head.list("sections")
    check_unique([s.get("id") for s in raw_sections if isinstance(s, Mapping)], "section", issues)
    for raw in raw_sections:
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        node = Node(
            raw, f"section '{ident}'", issues, ("id", "title", "questions"), ("intro", "optional")
        )
        questions = []
        for qraw in node.list("questions"):
            if isinstance(qraw, Mapping):
                all_ids.append(str(qraw.get("id")))
            question = _question(qraw, issues, refs, tests)
            if question is not None:
                questions.append(question)
        if node.has("questions") and not questions:
            issues.add(node.where, "a section needs at least one question")
        sections.append(
            Section(
                str(ident),
                node.str("title") or "",
                node.str("intro"),
                node.bool("optional"),
                tuple(questions),
            )
        )
    check_unique(all_ids, "question", issues)
    assessment = Assessment(
        id=str(head.raw("id")),
        title=head.str("title") or "",
        version=head.raw("version", 0),
        sections=tuple(sections),
        budget=_budget(head.raw("budget"), issues),
        retake_prefill=head.str_list("retake_prefill"),
    )
    _check_screens(assessment, issues)
    _check_prefill(assessment, issues)
    return assessment


def _budget(raw: Any, issues: Issues) -> Budget:
    """Seconds and taps per question type; the core must fit the promise (2 minutes)."""
    node = Node(
        raw,
        "budget",
        issues,
        ("per_type", "screen_seconds", "max_core_seconds", "max_core_taps", "coach_judgement"),
    )
    costs: dict[str, TypeCost] = {}
    per_type = node.mapping("per_type")
    for qtype in QUESTION_TYPES:
        cost = Node(per_type.get(qtype), f"budget per_type '{qtype}'", issues, ("seconds", "taps"))
        costs[qtype] = TypeCost(cost.num("seconds", 0.0) or 0.0, cost.num("taps", 0.0) or 0.0)
    for qtype in set(per_type) - set(QUESTION_TYPES):
        issues.add("budget", f"unknown question type '{qtype}'")
    return Budget(
        costs=costs,
        screen_seconds=node.num("screen_seconds", 0.0) or 0.0,
        max_core_seconds=node.num("max_core_seconds", 120) or 120,
        max_core_taps=node.num("max_core_taps", 35) or 35,
    )


def _check_screens(assessment: Assessment, issues: Issues) -> None:
    ids = [s.id for s in assessment.screens]
    seen = {q.id: q.screen for q in assessment.questions}
    counts = {ident: sum(1 for q in assessment.questions if (q.screen or q.id) == ident) for ident in ids}
    for screen in assessment.screens:
        if len(screen.questions) != counts[screen.id] or ids.count(screen.id) > 1:
            issues.add(f"screen '{screen.id}'", "questions sharing a screen must follow each other")
        if screen.id in seen and seen[screen.id] is None and screen.questions[0].id != screen.id:
            issues.add(f"screen '{screen.id}'", "a screen id must not be another question's id")
    seconds, taps = assessment.core_cost()
    budget = assessment.budget
    if seconds > budget.max_core_seconds:
        issues.add("budget", f"the core takes about {seconds:.0f} s, over max_core_seconds "
                   f"({budget.max_core_seconds:.0f} s): cut, merge or make questions conditional")
    if taps > budget.max_core_taps:
        issues.add("budget", f"the core takes about {taps:.1f} taps, over max_core_taps "
                   f"({budget.max_core_taps:.0f}): cut, merge or make questions conditional")


def _check_prefill(assessment: Assessment, issues: Issues) -> None:
    """A retake starts with stable facts only: never a self-test result or a safety answer."""
    known = {q.id: q for q in assessment.questions}
    optional = {q.id for s in assessment.sections if s.optional for q in s.questions}
    for qid in assessment.retake_prefill:
        q = known.get(qid)
        if q is None:
            issues.add("retake_prefill", f"unknown question '{qid}'")
        elif qid in optional or q.safety_relevant or q.test is not None:
            issues.add("retake_prefill", f"'{qid}' must be answered afresh (a self-test or safety question)")


def question_labels(assessment: Assessment) -> dict[str, dict[str, str]]:
    """Option labels by question id, for ``|label`` in templates."""
    return {q.id: {o.value: o.label for o in q.choices} for q in assessment.questions if q.choices}
