"""A self-test's measurement error and normal band (rules/assessment/self_tests.yaml), validated.

``measurement_error`` says how big a change between two attempts must be to count as a change
(a retake's comparison, ``progress.py``) and which question holds each side; ``normal_band`` is
the band a retake's chart shades. Every number cites a source or says ``coach_judgement``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, judgement
from .model import Assessment

KINDS = ("numeric", "ordinal")
BETTER = {"numeric": ("higher", "lower"), "ordinal": ("first", "last")}
NUMERIC_TYPES = ("integer", "number", "slider")


@dataclass(frozen=True, slots=True)
class NormalBand:
    low: float | None = None  # numeric: the band's bounds (either may be open)
    high: float | None = None
    values: tuple[str, ...] = ()  # ordinal: the option values that are normal
    sources: tuple[str, ...] = ()
    coach_judgement: str | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    kind: str  # numeric: values are numbers; ordinal: options, listed best first or last
    left: str  # question ids
    right: str
    better: str  # numeric: higher | lower; ordinal: first | last (where the best option is)
    change: float  # the smallest change that counts (units, or option steps)
    side_difference: float | None
    note: str
    sources: tuple[str, ...]
    coach_judgement: str | None
    normal: NormalBand


def load_measurement(node: Node, sources: Mapping[str, Any]) -> Measurement | None:
    """The test's ``measurement_error`` and ``normal_band`` blocks; None when the test says
    ``not_compared`` (a one-line reason). Exactly one of the two is required."""
    issues = node.issues
    if node.has("not_compared") == node.has("measurement_error"):
        issues.add(node.where, "give either 'measurement_error' (with 'normal_band') or 'not_compared: <reason>'")
        return None
    if node.has("not_compared"):
        node.str("not_compared")
        if node.has("normal_band"):
            issues.add(node.where, "'normal_band' belongs with 'measurement_error'")
        return None
    where = f"{node.where} measurement_error"
    me = Node(node.raw("measurement_error"), where, issues,
              ("kind", "left", "right", "better", "change", "note"),
              ("side_difference", "sources", "coach_judgement"))
    if not me.ok:
        return None
    kind = me.choice("kind", KINDS) or "numeric"
    better = me.choice("better", BETTER[kind]) or BETTER[kind][0]
    change = me.num("change")
    if change is None or change <= 0:
        issues.add(where, f"'change' must be a number > 0, got {me.raw('change')!r}")
        change = 1
    if kind == "ordinal" and not float(change).is_integer():
        issues.add(where, "'change' of an ordinal test counts option steps: a whole number")
    side = me.num("side_difference")
    if side is not None and (side <= 0 or kind == "ordinal"):
        issues.add(where, "'side_difference' must be > 0, and only on a numeric test")
        side = None
    cited = me.sources(sources)
    reason = judgement(me, cited, {"change": change, "side_difference": side})
    return Measurement(kind=kind, left=me.str("left") or "", right=me.str("right") or "", better=better,
                       change=float(change), side_difference=None if side is None else float(side),
                       note=me.str("note") or "", sources=cited, coach_judgement=reason,
                       normal=_normal(node, kind, sources))


def _normal(node: Node, kind: str, sources: Mapping[str, Any]) -> NormalBand:
    where = f"{node.where} normal_band"
    if not node.has("normal_band"):
        node.issues.add(node.where, "missing required key 'normal_band' (the chart's shaded band)")
        return NormalBand()
    keys = ("min", "max") if kind == "numeric" else ("values",)
    band = Node(node.raw("normal_band"), where, node.issues, (), (*keys, "sources", "coach_judgement"))
    cited = band.sources(sources)
    if kind == "ordinal":
        values = band.str_list("values")
        if not values:
            node.issues.add(where, "an ordinal test's band lists the normal option 'values'")
        reason = judgement(band, cited, {"values": 1})  # naming a band is a threshold too
        return NormalBand(values=values, sources=cited, coach_judgement=reason)
    low, high = band.num("min"), band.num("max")
    if low is None and high is None:
        node.issues.add(where, "give 'min', 'max' or both")
    if low is not None and high is not None and low >= high:
        node.issues.add(where, f"'min' ({low}) must be below 'max' ({high})")
    reason = judgement(band, cited, {"min": low, "max": high})
    return NormalBand(low=low, high=high, sources=cited, coach_judgement=reason)


def check_against(tests: Mapping[str, Any], assessment: Assessment, issues: Issues) -> None:
    """Each side names a question of that test, of the right type; band values are its options."""
    for test in tests.values():
        m: Measurement | None = test.measurement
        if m is None:
            continue
        where = f"test '{test.id}' measurement_error"
        known = {q.id: q for q in assessment.questions}
        for side in ("left", "right"):
            qid = getattr(m, side)
            q = known.get(qid)
            if q is None or q.test is None or q.test.id != test.id:
                issues.add(where, f"'{side}': '{qid}' is not a question of this test")
                continue
            if m.kind == "numeric" and q.type not in NUMERIC_TYPES:
                issues.add(where, f"'{side}': '{qid}' is a {q.type} question, not a number")
            if m.kind == "ordinal":
                if q.type != "single_select":
                    issues.add(where, f"'{side}': '{qid}' is a {q.type} question, not a single choice")
                unknown = set(m.normal.values) - {o.value for o in q.options}
                if unknown:
                    issues.add(f"test '{test.id}' normal_band",
                               f"unknown option(s) {', '.join(sorted(unknown))} of '{qid}'")
