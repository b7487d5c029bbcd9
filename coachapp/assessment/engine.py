"""evaluate(): derive → safety → scoring → flags → priorities → plan. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from .derive import compute
from .flags import check_flags, check_safety
from .plans import build_plan
from .progress import comparable, resolved_regions
from .rules import Rules
from .scoring import NOT_RESTRICTED, apply_rules, total

CONFIDENCE_ORDER = {"measured": 0, "estimated": 1, "none": 2}
NOTE_ANSWERS_ONLY = "Based on your answers only — the optional self-tests would sharpen this."
NOTE_NOTHING_IN_TESTS = "Nothing stands out in the self-tests you did — keep it that way."
NOTE_UNTESTED = (
    "Your answers don't point to a restriction, but answers alone can't rule one out: "
    "{tests} would tell."
)
NOTE_RED = (
    "Training priorities and the plan are held back until a clinician has given the go-ahead."
)
NOTE_RACE_PASSED = "The race date has passed, so the plan doesn't count down to it."
NOTE_NOT_ADVICE = "This assessment gives coaching priorities, not a diagnosis or medical advice."


@dataclass
class Result:
    """Everything the web layer stores and renders; ``to_dict()`` is JSON-serialisable."""

    rules_version: str
    safety: dict[str, Any]
    derived: dict[str, Any]
    regions: list[dict[str, Any]]
    stability: dict[str, Any]
    flags: list[dict[str, Any]]
    priorities: list[dict[str, Any]]
    plan: dict[str, Any] | None
    trace: list[dict[str, Any]]
    notes: list[str]
    skipped_safety: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _visible_answers(rules: Rules, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Known, non-empty answers whose question is visible (stale hidden answers are ignored)."""
    facts: dict[str, Any] = {}
    for q in rules.assessment.questions:
        value = answers.get(q.id)
        if value is not None and value != "" and (q.show_if is None or q.show_if.fn(facts)):
            facts[q.id] = value
    return facts


def _clause(reason: str) -> str:
    """A reason as a mid-sentence clause: no final stop, lower-case start unless an acronym."""
    text = reason.rstrip(". ")
    first = text.split(" ", 1)[0]
    if not first.isupper() or len(first) == 1:
        text = text[:1].lower() + text[1:]
    return text


def _why(region: dict[str, Any]) -> str:
    fired = region["fired"]
    top = sorted((f for f in fired if f["points"] > 0), key=lambda f: -f["points"])[:2]
    reasons = "; ".join(_clause(f["reason"]) for f in top)
    text = f"These answers suggest {region['label'].lower()} is worth working on: {reasons}."
    if region["confidence"] == "estimated":
        text += f" {region['confidence_label']}."
    return text


def _estimate_label(fired: list[dict[str, Any]], test_name: str | None) -> str:
    """Questionnaire-only estimates say so, with their confidence and the test that would tell."""
    by = {c: sum(f["points"] for f in fired if f["confidence"] == c) for c in ("self_report", "proxy")}
    level = "medium" if by["self_report"] >= by["proxy"] else "low"
    test = f" — the {test_name} self-test would tell" if test_name else ""
    return f"Estimated from your answers ({level} confidence){test}"


def _score_regions(rules: Rules, facts: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = rules.regions
    grouped = apply_rules(cfg.rules, facts, cfg.proxy_weight)
    out = []
    for index, region in enumerate(cfg.regions):
        fired = grouped.get(region.id, [])
        measured = any(f["confidence"] == "measured" for f in fired)
        confidence = "measured" if measured else "estimated" if fired else "none"
        finding = next((f["status"] for f in fired if "status" in f), None)
        score = total(fired)
        facts[f"score.{region.id}"] = score
        out.append(
            {
                "id": region.id,
                "label": region.label,
                "score": score,
                "confidence": confidence,
                "confidence_label": (
                    "Measured" if measured else _estimate_label(fired, region.test_name)
                ),
                "finding": finding,  # normal / borderline / restricted / marked, from a self-test
                "worse_side": region.worse_side(facts) if region.worse_side else None,
                "end_range_check": any(f.get("end_range_check") for f in fired),
                "test_name": region.test_name,
                "rank": 0,
                "fired": fired,
                "_order": index,
            }
        )
    # A result inside its normal band is never ranked above one that may need work.
    out.sort(
        key=lambda r: (
            r["finding"] in NOT_RESTRICTED,
            -r["score"],
            CONFIDENCE_ORDER[r["confidence"]],
            r["_order"],
        )
    )
    for rank, region in enumerate(out, start=1):
        region["rank"] = rank
        del region["_order"]
    return out


def _priorities(
    rules: Rules, regions: list[dict[str, Any]], notes: list[str]
) -> list[dict[str, Any]]:
    """Top regions over the threshold (a third only if >= third_priority_min).

    Normal is normal: a region whose self-test result is normal or borderline is never a
    priority, whatever its proxies add up to. With no priority the plan is maintenance, and
    the note says plainly whether that rests on tests or on answers alone.
    """
    cfg = rules.regions
    over = [
        r for r in regions
        if r["score"] >= cfg.priority_threshold and r["finding"] not in NOT_RESTRICTED
    ]
    chosen = over[: cfg.max_priorities]
    if (
        len(over) > cfg.max_priorities
        and over[cfg.max_priorities]["score"] >= cfg.third_priority_min
    ):
        chosen.append(over[cfg.max_priorities])
    if not chosen and (note := _maintenance_note(regions)):
        notes.append(note)
    return [
        {
            "region": r["id"],
            "label": r["label"],
            "score": r["score"],
            "confidence": r["confidence"],
            "confidence_label": r["confidence_label"],
            "worse_side": r["worse_side"],
            "end_range_check": r["end_range_check"],
            "why": _why(r),
        }
        for r in chosen
    ]


def _maintenance_note(regions: list[dict[str, Any]]) -> str:
    untested = [r["test_name"] for r in regions if r["finding"] is None and r["test_name"]]
    if not untested:
        return ""  # every region tested and normal: the plan summary says so
    if len(untested) == len(regions):
        return NOTE_UNTESTED.format(tests="the optional self-tests")
    names = ", ".join(untested[:-1]) + (" and " if len(untested) > 1 else "") + untested[-1]
    return f"{NOTE_NOTHING_IN_TESTS} Not tested yet: {names} — a self-test would tell."


def _skipped_safety(rules: Rules, facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Safety-relevant questions that were shown but not answered (or 'prefer not to say')."""
    out = []
    for q in rules.assessment.questions:
        if not q.safety_relevant or (q.show_if is not None and not q.show_if.fn(facts)):
            continue
        if facts.get(q.id) in (None, "prefer_not_to_say"):
            out.append({"id": q.id, "text": q.text, "answer": facts.get(q.id)})
    return out


def _trace(
    safety: dict[str, Any],
    regions: list[dict[str, Any]],
    stability: dict[str, Any],
    flags: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    trace = [
        {"stage": "safety", "rule_id": f["id"], "fired": True, "level": f["level"]}
        for f in safety["fired"]
    ]
    for region in regions:
        trace += [
            {"stage": "regions", "rule_id": f["rule_id"], "fired": True, "points": f["points"]}
            for f in region["fired"]
        ]
    trace += [
        {"stage": "stability", "rule_id": f["rule_id"], "fired": True, "points": f["points"]}
        for f in stability["fired"]
    ]
    trace += [
        {"stage": "flags", "rule_id": f["id"], "fired": True, "severity": f["severity"]}
        for f in flags
    ]
    return trace


def _new_priorities(previous: Mapping[str, Any] | None,
                    priorities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Priorities that were not priorities last time (a retake only)."""
    if not comparable(previous):
        return []
    before = {p["region"] for p in previous.get("priorities") or []}
    return [p for p in priorities if p["region"] not in before]


def evaluate(rules: Rules, answers: Mapping[str, Any], today: date,
             previous: Mapping[str, Any] | None = None) -> Result:
    """Score one clean answer set. Pure: ``today`` is passed in, nothing is read or written.

    ``previous``: the runner's previous result (a retake). A priority of last time that a
    self-test now finds normal steps down to maintenance in the plan; a new one is named."""
    facts = _visible_answers(rules, answers)
    derived = compute(rules.derived, facts, today)
    safety, avoid_areas, gates = check_safety(rules.safety, facts)
    regions = _score_regions(rules, facts)
    stab_cfg = rules.stability
    stab_fired = apply_rules(stab_cfg.rules, facts, rules.regions.proxy_weight).get("", [])
    stab_score = total(stab_fired)
    facts[f"score.{stab_cfg.id}"] = stab_score
    stability_first = stab_score >= stab_cfg.stability_first_at
    stability = {
        "score": stab_score,
        "mode": "stability_first" if stability_first else "standard",
        "fired": stab_fired,
    }
    flags = check_flags(rules.flags, facts)
    facts["flags"] = frozenset(f["id"] for f in flags)

    notes: list[str] = []
    if facts.get("race_date") and derived.get("weeks_to_race") is None:
        notes.append(NOTE_RACE_PASSED)
    plan = None
    priorities: list[dict[str, Any]] = []
    if safety["level"] == "red":
        notes.append(NOTE_RED)
    else:
        priorities = _priorities(rules, regions, notes)
        if priorities and not derived.get("self_tests_completed"):
            notes.insert(0, NOTE_ANSWERS_ONLY)
        plan = build_plan(
            rules.selection,
            rules.exercises,
            rules.schedule,
            priorities=priorities,
            stability_first=stability_first,
            facts=facts,
            avoid_areas=avoid_areas,
            gates=gates,
            limited_message=safety["message"] if safety["level"] == "amber" else None,
            tested=all(r["finding"] for r in regions),  # every region has a self-test result
            maintain=resolved_regions(previous, regions),
            new=_new_priorities(previous, priorities),
        )
    notes.append(NOTE_NOT_ADVICE)
    return Result(
        rules_version=rules.version,
        safety=safety,
        derived=derived,
        regions=regions,
        stability=stability,
        flags=flags,
        priorities=priorities,
        plan=plan,
        trace=_trace(safety, regions, stability, flags),
        notes=notes,
        skipped_safety=_skipped_safety(rules, facts),
    )
