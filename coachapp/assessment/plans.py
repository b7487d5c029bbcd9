"""Plan building: priorities + flags + safety gates → a short exercise plan and a week.

The selection rules live in rules/plans/selection.yaml (loaded by ``plan_rules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .conditions import Facts
from .library import Exercise
from .plan_rules import GROUPS, SLOTS, Selection
from .schedule import Phase, ScheduleConfig, build_week, resolve_days

SIDE_SLOTS = ("end_range", "strength")  # daily CARs go both ways; these get the extra set


@dataclass(slots=True)
class _Pick:
    exercise: Exercise
    block: str
    target: str
    why: str
    region: str = ""
    rank: int = 0
    side: str | None = None
    swap_why: str | None = None


@dataclass(slots=True)
class _Outcome:
    chosen: list[_Pick]
    excluded: dict[str, list[_Pick]]  # by reason: areas, no_high_intensity, no_load_progression
    withheld: list[_Pick]  # end-range work waiting for a professional check
    swaps: list[str]  # notes of the tendon swaps that changed something


def _region_picks(sel: Selection, exercises: Mapping[str, Exercise], priorities: list[dict[str, Any]],
                  groups: dict[str, list[_Pick]]) -> None:
    for rank, prio in enumerate(priorities, start=1):
        for slot in SLOTS:
            ex_id = sel.region_blocks.get(prio["region"], {}).get(slot)
            if ex_id:
                side = prio.get("worse_side") if slot in SIDE_SLOTS else None
                groups[f"region_{rank}"].append(
                    _Pick(exercises[ex_id], slot, prio["region"], sel.copy["why_region"],
                          prio["label"].lower(), rank, side)
                )


def _picks(
    sel: Selection,
    exercises: Mapping[str, Exercise],
    priorities: list[dict[str, Any]],
    stability_first: bool,
    facts: Facts,
) -> dict[str, list[_Pick]]:
    """Candidate items per group, before replacement, de-duplication and the cap."""
    groups: dict[str, list[_Pick]] = {g: [] for g in GROUPS}
    _region_picks(sel, exercises, priorities, groups)
    if not priorities:
        groups["region_1"] = [
            _Pick(exercises[e], "daily", "base", sel.copy["why_maintenance"])
            for e in sel.maintenance_daily
        ]
    groups["base"] = [
        _Pick(exercises[e], "strength", "base", sel.copy["why_base"]) for e in sel.base_strength
    ]
    groups["drills"] = [
        _Pick(exercises[e], "drills", "base", sel.copy["why_drills"]) for e in sel.base_drills
    ]
    flags = facts.get("flags") or frozenset()
    for addition in sel.flag_additions:
        if addition.flag not in flags or addition.why is None:
            continue
        ids = list(addition.add)
        for area in facts.get(addition.by_area_of or "") or ():
            ids.extend(addition.by_area.get(area, ()))
        groups["flags"].extend(
            _Pick(exercises[e], exercises[e].block, addition.flag, addition.why) for e in ids
        )
    if stability_first:
        why = sel.copy["why_stability"]
        groups["stability"] = [
            _Pick(exercises[e], exercises[e].block, "stability", why) for e in sel.stability_add
        ]
    return groups


def _names(picks: list[_Pick]) -> str:
    return ", ".join(p.exercise.name for p in picks)


class _Selector:
    """Apply swaps, stability-first, safety gates and de-duplication, in that order."""

    def __init__(self, sel: Selection, exercises: Mapping[str, Exercise], facts: Facts, *,
                 stability_first: bool, avoid_areas: frozenset[str], gates: frozenset[str],
                 drills_ok: bool, check_regions: frozenset[str]) -> None:
        self.sel, self.exercises = sel, exercises
        self.stability_first, self.avoid_areas, self.gates = stability_first, avoid_areas, gates
        self.drills_ok, self.check_regions = drills_ok, check_regions
        self.swaps = [s for s in sel.tendon_swaps if s.when.fn(facts)]
        self.out = _Outcome([], {}, [], [])
        self.seen: set[str] = set()

    def _swap(self, pick: _Pick) -> bool:
        for swap in self.swaps:
            new_id = swap.replace.get(pick.exercise.id)
            if new_id:
                pick.exercise, pick.swap_why = self.exercises[new_id], swap.why
                if swap.note not in self.out.swaps:
                    self.out.swaps.append(swap.note)
        if self.stability_first and pick.exercise.id in self.sel.replace:
            new_id = self.sel.replace[pick.exercise.id]
            if new_id is None:
                return False
            pick.exercise = self.exercises[new_id]
        ex = pick.exercise
        if self.stability_first and (ex.kind in self.sel.remove_kinds or ex.passive_end_range):
            return False
        return not (pick.block == "drills" and not self.drills_ok)

    def _gate(self, ex: Exercise) -> str | None:
        if ex.loads_areas & self.avoid_areas:
            return "areas"
        if "no_high_intensity" in self.gates and ex.intensity == "high":
            return "no_high_intensity"
        if "no_load_progression" in self.gates and ex.progressive:
            return "no_load_progression"
        return None

    def take(self, pick: _Pick) -> None:
        if not self._swap(pick) or pick.exercise.id in self.seen:
            return
        ex = pick.exercise
        self.seen.add(ex.id)
        if pick.block == "end_range" and pick.target in self.check_regions:
            self.out.withheld.append(pick)
        elif (reason := self._gate(ex)) is not None:
            self.out.excluded.setdefault(reason, []).append(pick)
        else:
            self.out.chosen.append(pick)

    def run(self, groups: dict[str, list[_Pick]]) -> _Outcome:
        for group in self.sel.order:
            for pick in groups[group]:
                self.take(pick)
        if not any(p.block == "daily" for p in self.out.chosen):
            why = self.sel.copy["why_daily_fallback"]
            for ex_id in self.sel.maintenance_daily:
                self.take(_Pick(self.exercises[ex_id], "daily", "base", why))
                if self.out.chosen and self.out.chosen[-1].block == "daily":
                    self.out.chosen.insert(0, self.out.chosen.pop())
                    break
        return self.out


def _item(sel: Selection, pick: _Pick, starter: bool, hold: bool) -> dict[str, Any]:
    ex = pick.exercise
    why = (pick.swap_why or pick.why).format(purpose=ex.purpose, region=pick.region, rank=pick.rank)
    item = {
        "exercise_id": ex.id,
        "name": ex.name,
        "kind": ex.kind,
        "block": pick.block,
        "for": pick.target,
        "why": why,
        "dosage": ex.starter_dosage if starter and ex.starter_dosage else ex.dosage,
        "frequency": ex.frequency,
        "cues": list(ex.cues),
        "evidence": ex.evidence,
        "sources": list(ex.sources),
    }
    if pick.side:
        other = "right" if pick.side == "left" else "left"
        item["side"] = pick.side
        item["side_note"] = sel.copy["side_note"].format(side=pick.side, other=other)
    if hold and ex.kind == "strength":
        item["progression"] = "hold"
        item["dosage"] = f"{item['dosage']}. {sel.copy['hold_load']}"
    return item


def build_plan(
    sel: Selection,
    exercises: Mapping[str, Exercise],
    schedule: ScheduleConfig,
    *,
    priorities: list[dict[str, Any]],
    stability_first: bool,
    facts: Facts,
    avoid_areas: frozenset[str],
    gates: frozenset[str] = frozenset(),
    limited_message: str | None,
    tested: bool = True,
    maintain: list[dict[str, Any]] | None = None,
    new: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Select, swap, gate and cap the items, then lay them out over a week.

    ``maintain``: last time's priorities now measured normal (a retake): each steps down to a
    short maintenance block — its daily exercise only — instead of its full block. ``new``:
    priorities that were not priorities last time, named in the notes."""
    maintain = [m for m in maintain or [] if m["region"] not in {p["region"] for p in priorities}]
    runs, long = resolve_days(
        schedule, facts.get("run_days"), facts.get("long_run_day"), facts.get("runs_per_week")
    )
    drills_ok = bool(runs - {long})
    groups = _picks(sel, exercises, priorities, stability_first, facts)
    groups["maintenance"] = _maintenance_picks(sel, exercises, maintain)
    stepped = {p.exercise.id for p in groups["maintenance"]}  # said once, as the step-down
    groups["region_1"] = [p for p in groups["region_1"] if p.target != "base" or p.exercise.id not in stepped]
    checks = frozenset(p["region"] for p in priorities if p.get("end_range_check"))
    out = _Selector(sel, exercises, facts, stability_first=stability_first, avoid_areas=avoid_areas,
                    gates=gates, drills_ok=drills_ok, check_regions=checks).run(groups)
    kept, capped = out.chosen[: sel.max_items], out.chosen[sel.max_items :]
    starter = sel.starter_when is not None and sel.starter_when.fn(facts)
    hold = "no_load_progression" in gates
    phase = schedule.phase(facts)
    notes = _notes(sel, phase, facts, out, capped, priorities, starter)
    if not drills_ok and sel.base_drills:
        notes.append(sel.copy["no_drills_note"])
    if starter:
        notes.append(sel.copy["starter_note"])
    if maintain:
        notes.insert(0, sel.copy["maintenance_note"].format(regions=_joined(m["label"].lower() for m in maintain)))
    if new:
        notes.insert(0, sel.copy["new_priority_note"].format(regions=_joined(p["label"].lower() for p in new)))
    advice: list[str] = []  # an amber result's own message leads the results, not the advice
    flags = facts.get("flags") or frozenset()
    advice += [a.advice.render(facts) for a in sel.flag_additions if a.advice and a.flag in flags]
    advice += list(sel.advice_always)
    by_block: dict[str, list[Exercise]] = {}
    for pick in kept:
        by_block.setdefault(pick.block, []).append(pick.exercise)
    no_quality = bool(flags & schedule.no_quality_flags) or "no_high_intensity" in gates
    plan = {
        "mode": "stability_first" if stability_first else "standard",
        "phase": {"id": phase.id, "label": phase.label},
        "regions": [p["region"] for p in priorities],
        "maintenance": [m["region"] for m in maintain],
        "summary": _summary(sel, priorities, stability_first, limited_message is not None, tested),
        "items": [_item(sel, p, starter, hold) for p in kept],
        "week": build_week(schedule, phase, runs, long, no_quality, by_block),
        "advice": advice,
        "notes": notes,
        "limited": None,
    }
    if limited_message is not None:
        plan["limited"] = _limited(sel, gates, out)
    return plan


def _maintenance_picks(sel: Selection, exercises: Mapping[str, Exercise],
                       maintain: list[dict[str, Any]]) -> list[_Pick]:
    picks = []
    for m in maintain:
        ex_id = sel.region_blocks.get(m["region"], {}).get("daily")
        if ex_id:
            picks.append(_Pick(exercises[ex_id], "daily", m["region"], sel.copy["why_maintenance_step_down"],
                               m["label"].lower()))
    return picks


def _joined(labels: Any) -> str:
    items = list(labels)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _limited(sel: Selection, gates: frozenset[str], out: _Outcome) -> dict[str, Any]:
    """What each amber gate changed — only claims what really happened."""
    changes = []
    for gate in ("avoid_painful_areas", "no_high_intensity", "no_load_progression"):
        if gate not in gates:
            continue
        removed = out.excluded.get("areas" if gate == "avoid_painful_areas" else gate, [])
        text = sel.copy[f"gate_{gate}"]
        changes.append(f"{text} Left out: {_names(removed)}." if removed else text)
    return {"gates": sorted(gates), "changes": changes}


def _notes(sel: Selection, phase: Phase, facts: Facts, out: _Outcome, capped: list[_Pick],
           priorities: list[dict[str, Any]], starter: bool) -> list[str]:
    note = phase.note_new_to_strength if starter and phase.note_new_to_strength else phase.note
    notes = [note.render(facts)] if note else []
    notes += out.swaps
    if out.withheld:
        regions = " and ".join(p["label"].lower() for p in priorities if p.get("end_range_check"))
        notes.append(sel.copy["end_range_check_note"].format(names=_names(out.withheld), region=regions))
    if capped:
        notes.append(sel.copy["capped_note"].format(names=_names(capped)))
    return notes


def _summary(
    sel: Selection,
    priorities: list[dict[str, Any]],
    stability_first: bool,
    limited: bool,
    tested: bool,
) -> str:
    labels = [p["label"].lower() for p in priorities]
    regions = (
        " and ".join(labels) if len(labels) < 3 else ", ".join(labels[:-1]) + " and " + labels[-1]
    )
    if stability_first:
        text = sel.copy["summary_stability"].format(
            regions_clause=f", with {regions} as the focus" if labels else ""
        )
    elif labels:
        text = sel.copy["summary_regions"].format(regions=regions)
    else:
        text = sel.copy["summary_maintenance" if tested else "summary_maintenance_untested"]
    return f"{sel.copy['limited_prefix']} {text}" if limited else text
