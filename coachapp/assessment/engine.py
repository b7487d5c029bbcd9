"""evaluate(): derive → safety → scoring → flags → priorities → plan. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from .derive import compute
from .flags import check_flags, check_safety
from .plans import build_plan
from .rules import Rules
from .scoring import apply_rules, total

CONFIDENCE_ORDER = {"measured": 0, "estimated": 1, "none": 2}
NOTE_ANSWERS_ONLY = "Based on your answers only — the optional self-tests would sharpen this."
NOTE_FALLBACK = (
    "No area stands out clearly, so these priorities are the areas your answers point to most."
)
NOTE_MAINTENANCE = (
    "Nothing in your answers points to a specific restriction, so the plan is a maintenance plan."
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


def _why(label: str, fired: list[dict[str, Any]]) -> str:
    top = sorted((f for f in fired if f["points"] > 0), key=lambda f: -f["points"])[:2]
    reasons = "; ".join(_clause(f["reason"]) for f in top)
    return f"These answers suggest {label.lower()} is worth working on: {reasons}."


def _score_regions(rules: Rules, facts: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = rules.regions
    grouped = apply_rules(cfg.rules, facts, cfg.proxy_weight)
    out = []
    for index, region in enumerate(cfg.regions):
        fired = grouped.get(region.id, [])
        measured = any(f["confidence"] == "measured" for f in fired)
        confidence = "measured" if measured else "estimated" if fired else "none"
        score = total(fired)
        facts[f"score.{region.id}"] = score
        out.append(
            {
                "id": region.id,
                "label": region.label,
                "score": score,
                "confidence": confidence,
                "rank": 0,
                "fired": fired,
                "_order": index,
            }
        )
    out.sort(key=lambda r: (-r["score"], CONFIDENCE_ORDER[r["confidence"]], r["_order"]))
    for rank, region in enumerate(out, start=1):
        region["rank"] = rank
        del region["_order"]
    return out


def _priorities(
    rules: Rules, regions: list[dict[str, Any]], notes: list[str]
) -> list[dict[str, Any]]:
    """Top regions over the threshold (a third only if >= third_priority_min); else a fallback."""
    cfg = rules.regions
    over = [r for r in regions if r["score"] >= cfg.priority_threshold]
    chosen = over[: cfg.max_priorities]
    if (
        len(over) > cfg.max_priorities
        and over[cfg.max_priorities]["score"] >= cfg.third_priority_min
    ):
        chosen.append(over[cfg.max_priorities])
    if not chosen:
        chosen = [r for r in regions if r["score"] > 0][: cfg.max_priorities]
        notes.append(NOTE_FALLBACK if chosen else NOTE_MAINTENANCE)
    return [
        {
            "region": r["id"],
            "label": r["label"],
            "score": r["score"],
            "confidence": r["confidence"],
            "why": _why(r["label"], r["fired"]),
        }
        for r in chosen
    ]


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


def evaluate(rules: Rules, answers: Mapping[str, Any], today: date) -> Result:
    """Score one clean answer set. Pure: ``today`` is passed in, nothing is read or written."""
    facts = _visible_answers(rules, answers)
    derived = compute(rules.derived, facts, today)
    safety, avoid_areas = check_safety(rules.safety, facts)
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
    if not derived.get("self_tests_completed"):
        notes.append(NOTE_ANSWERS_ONLY)
    if facts.get("race_date") and derived.get("weeks_to_race") is None:
        notes.append(NOTE_RACE_PASSED)
    plan = None
    priorities: list[dict[str, Any]] = []
    if safety["level"] == "red":
        notes.append(NOTE_RED)
    else:
        priorities = _priorities(rules, regions, notes)
        plan = build_plan(
            rules.selection,
            rules.exercises,
            rules.schedule,
            priorities=priorities,
            stability_first=stability_first,
            facts=facts,
            avoid_areas=avoid_areas,
            limited_message=safety["message"] if safety["level"] == "amber" else None,
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
    )
