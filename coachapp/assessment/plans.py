"""Plan selection (rules/plans/selection.yaml): priorities + flags → a short exercise plan."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, file_header
from .conditions import Facts, RefTable
from .library import KINDS, Exercise
from .schedule import Phase, ScheduleConfig, build_week, resolve_days
from .templates import Labels, Template, compile_template

SLOTS = ("daily", "end_range", "strength")
GROUPS = ("stability", "region_1", "base", "region_2", "flags", "drills", "region_3")
WHY_FIELDS = {"purpose", "region", "rank"}
COPY_FIELDS: dict[str, set[str]] = {
    "why_region": WHY_FIELDS,
    "why_base": WHY_FIELDS,
    "why_stability": WHY_FIELDS,
    "why_drills": WHY_FIELDS,
    "why_maintenance": WHY_FIELDS,
    "why_daily_fallback": WHY_FIELDS,
    "summary_regions": {"regions"},
    "summary_stability": {"regions_clause"},
    "summary_maintenance": set(),
    "limited_prefix": set(),
    "excluded_note": {"names"},
    "capped_note": {"names"},
    "no_drills_note": set(),
}


@dataclass(frozen=True, slots=True)
class FlagAddition:
    flag: str
    add: tuple[str, ...]
    by_area_of: str | None
    by_area: Mapping[str, tuple[str, ...]]
    why: str | None
    advice: Template | None


@dataclass(frozen=True, slots=True)
class Selection:
    max_items: int
    order: tuple[str, ...]
    region_blocks: Mapping[str, Mapping[str, str | None]]
    base_strength: tuple[str, ...]
    base_drills: tuple[str, ...]
    maintenance_daily: tuple[str, ...]
    replace: Mapping[str, str | None]
    remove_kinds: frozenset[str]
    stability_add: tuple[str, ...]
    flag_additions: tuple[FlagAddition, ...]
    copy: Mapping[str, str]
    advice_always: tuple[str, ...]


def _format_ok(text: str, allowed: set[str], issues: Issues, where: str) -> bool:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        issues.add(where, f"bad text {text!r}: {exc}")
        return False
    unknown = fields - allowed
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        issues.add(where, f"unknown field {{{sorted(unknown)[0]}}} (allowed: {names})")
    return not unknown


class _Refs:
    """Checks exercise ids used by the selection file."""

    def __init__(self, exercises: Mapping[str, Exercise], issues: Issues) -> None:
        self.exercises, self.issues = exercises, issues

    def ids(self, ids: Iterable[str], where: str) -> tuple[str, ...]:
        ids = tuple(ids)
        for ident in ids:
            if ident not in self.exercises:
                self.issues.add(
                    where, f"unknown exercise '{ident}' (not in exercises/library.yaml)"
                )
        return ids


def _flag_addition(
    raw: Any, issues: Issues, check: _Refs, refs: RefTable, labels: Labels, flag_ids: set[str]
) -> FlagAddition:
    flag = raw.get("flag") if isinstance(raw, Mapping) else None
    where = f"flag_addition '{flag}'"
    node = Node(raw, where, issues, ("flag",), ("add", "by_area_of", "by_area", "why", "advice"))
    if flag not in flag_ids:
        issues.add(where, f"unknown flag '{flag}' (not in scoring/risk_flags.yaml)")
    area_ref = node.str("by_area_of")
    by_area = {
        str(k): check.ids(v if isinstance(v, list) else [v], where)
        for k, v in node.mapping("by_area").items()
    }
    if bool(area_ref) != bool(by_area):
        issues.add(where, "'by_area_of' and 'by_area' go together")
    if area_ref and (area_ref not in refs or refs[area_ref].kind != "choices"):
        issues.add(where, f"'by_area_of' must be a multi-select question, got '{area_ref}'")
    elif area_ref:
        for area in by_area:
            if area not in refs[area_ref].options:
                issues.add(where, f"'{area}' is not an option of '{area_ref}'")
    add = check.ids(node.str_list("add"), where)
    why = node.str("why")
    if why is not None:
        _format_ok(why, WHY_FIELDS, issues, where)
    elif add or by_area:
        issues.add(where, "'why' is required when exercises are added")
    advice = (
        compile_template(node.raw("advice"), refs, labels, issues, where)
        if node.has("advice")
        else None
    )
    return FlagAddition(str(flag), add, area_ref, by_area, why, advice)


def load_selection(
    data: Any,
    issues: Issues,
    refs: RefTable,
    labels: Labels,
    exercises: Mapping[str, Exercise],
    region_ids: tuple[str, ...],
    flag_ids: set[str],
) -> Selection:
    keys = (
        "max_items",
        "order",
        "region_blocks",
        "base_strength",
        "base_drills",
        "maintenance_daily",
    )
    head = file_header(
        data, issues, (*keys, "stability_first", "flag_additions", "copy", "advice_always")
    )
    check = _Refs(exercises, issues)
    order = head.str_list("order")
    if sorted(order) != sorted(GROUPS):
        issues.add("order", f"must list each of {', '.join(GROUPS)} once")
    blocks: dict[str, dict[str, str | None]] = {}
    raw_blocks = head.mapping("region_blocks")
    for region in region_ids:
        if region not in raw_blocks:
            issues.add("region_blocks", f"missing region '{region}'")
    for region, raw in raw_blocks.items():
        node = Node(raw, f"region_blocks '{region}'", issues, SLOTS)
        if region not in region_ids:
            issues.add(node.where, "unknown region")
        slots = {slot: node.raw(slot) for slot in SLOTS}
        check.ids((v for v in slots.values() if v is not None), node.where)
        blocks[str(region)] = slots
    sf = Node(
        head.raw("stability_first"), "stability_first", issues, ("replace", "remove_kinds", "add")
    )
    replace = {str(k): v for k, v in sf.mapping("replace").items()}
    check.ids(list(replace) + [v for v in replace.values() if v is not None], sf.where)
    remove_kinds = frozenset(sf.str_list("remove_kinds"))
    for kind in remove_kinds - set(KINDS):
        issues.add(sf.where, f"unknown kind '{kind}'")
    copy = Node(head.raw("copy"), "copy", issues, tuple(COPY_FIELDS))
    texts = {key: copy.str(key) or "" for key in COPY_FIELDS}
    for key, text in texts.items():
        _format_ok(text, COPY_FIELDS[key], issues, f"copy '{key}'")
    max_items = head.int("max_items", 10) or 10
    if not 3 <= max_items <= 12:
        issues.add("max_items", "keep plans short: use 3 to 12")
    return Selection(
        max_items=max_items,
        order=order,
        region_blocks=blocks,
        base_strength=check.ids(head.str_list("base_strength"), "base_strength"),
        base_drills=check.ids(head.str_list("base_drills"), "base_drills"),
        maintenance_daily=check.ids(head.str_list("maintenance_daily"), "maintenance_daily"),
        replace=replace,
        remove_kinds=remove_kinds,
        stability_add=check.ids(sf.str_list("add"), sf.where),
        flag_additions=tuple(
            _flag_addition(raw, issues, check, refs, labels, flag_ids)
            for raw in head.list("flag_additions")
        ),
        copy=texts,
        advice_always=head.str_list("advice_always"),
    )


@dataclass(slots=True)
class _Pick:
    exercise: Exercise
    block: str
    target: str
    why: str
    region: str = ""
    rank: int = 0


def _picks(
    sel: Selection,
    exercises: Mapping[str, Exercise],
    priorities: list[dict[str, Any]],
    stability_first: bool,
    facts: Facts,
) -> dict[str, list[_Pick]]:
    """Candidate items per group, before replacement, de-duplication and the cap."""
    groups: dict[str, list[_Pick]] = {g: [] for g in GROUPS}
    for rank, prio in enumerate(priorities, start=1):
        for slot in SLOTS:
            ex_id = sel.region_blocks.get(prio["region"], {}).get(slot)
            if ex_id:
                pick = _Pick(
                    exercises[ex_id],
                    slot,
                    prio["region"],
                    sel.copy["why_region"],
                    prio["label"].lower(),
                    rank,
                )
                groups[f"region_{rank}"].append(pick)
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


def _item(pick: _Pick) -> dict[str, Any]:
    ex = pick.exercise
    return {
        "exercise_id": ex.id,
        "name": ex.name,
        "kind": ex.kind,
        "block": pick.block,
        "for": pick.target,
        "why": pick.why.format(purpose=ex.purpose, region=pick.region, rank=pick.rank),
        "dosage": ex.dosage,
        "frequency": ex.frequency,
        "cues": list(ex.cues),
        "evidence": ex.evidence,
        "sources": list(ex.sources),
    }


def _select(
    sel: Selection,
    exercises: Mapping[str, Exercise],
    groups: dict[str, list[_Pick]],
    stability_first: bool,
    avoid_areas: frozenset[str],
    drills_ok: bool,
) -> tuple[list[_Pick], list[_Pick]]:
    """Apply stability-first swaps, de-duplicate and drop what loads a painful area.

    A daily block is always kept: if every daily item was dropped, the first allowed
    maintenance item takes its place at the front.
    """
    chosen: list[_Pick] = []
    excluded: list[_Pick] = []
    seen: set[str] = set()

    def take(pick: _Pick) -> None:
        if stability_first and pick.exercise.id in sel.replace:
            new_id = sel.replace[pick.exercise.id]
            if new_id is None:
                return
            pick.exercise = exercises[new_id]
        ex = pick.exercise
        skip_kind = stability_first and ex.kind in sel.remove_kinds
        if skip_kind or ex.id in seen or (pick.block == "drills" and not drills_ok):
            return
        seen.add(ex.id)
        (excluded if ex.loads_areas & avoid_areas else chosen).append(pick)

    for group in sel.order:
        for pick in groups[group]:
            take(pick)
    if not any(p.block == "daily" for p in chosen):
        why = sel.copy["why_daily_fallback"]
        for ex_id in sel.maintenance_daily:
            take(_Pick(exercises[ex_id], "daily", "base", why))
            if chosen and chosen[-1].block == "daily":
                chosen.insert(0, chosen.pop())
                break
    return chosen, excluded


def build_plan(
    sel: Selection,
    exercises: Mapping[str, Exercise],
    schedule: ScheduleConfig,
    *,
    priorities: list[dict[str, Any]],
    stability_first: bool,
    facts: Facts,
    avoid_areas: frozenset[str],
    limited_message: str | None,
) -> dict[str, Any]:
    """Select, de-duplicate, filter and cap the items, then lay them out over a week."""
    runs, long = resolve_days(schedule, facts.get("run_days"), facts.get("long_run_day"))
    drills_ok = bool(runs - {long})
    groups = _picks(sel, exercises, priorities, stability_first, facts)
    chosen, excluded = _select(sel, exercises, groups, stability_first, avoid_areas, drills_ok)
    kept, capped = chosen[: sel.max_items], chosen[sel.max_items :]
    phase = schedule.phase(facts)
    notes = _notes(sel, phase, facts, excluded, capped)
    if not drills_ok and sel.base_drills:
        notes.append(sel.copy["no_drills_note"])
    advice = [limited_message] if limited_message else []
    flags = facts.get("flags") or frozenset()
    advice += [a.advice.render(facts) for a in sel.flag_additions if a.advice and a.flag in flags]
    advice += list(sel.advice_always)
    by_block: dict[str, list[Exercise]] = {}
    for pick in kept:
        by_block.setdefault(pick.block, []).append(pick.exercise)
    return {
        "mode": "stability_first" if stability_first else "standard",
        "phase": {"id": phase.id, "label": phase.label},
        "regions": [p["region"] for p in priorities],
        "summary": _summary(sel, priorities, stability_first, limited_message is not None),
        "items": [_item(p) for p in kept],
        "week": build_week(schedule, phase, runs, long, flags, by_block),
        "advice": advice,
        "notes": notes,
    }


def _notes(
    sel: Selection, phase: Phase, facts: Facts, excluded: list[_Pick], capped: list[_Pick]
) -> list[str]:
    notes = [phase.note.render(facts)] if phase.note else []
    if excluded:
        notes.append(sel.copy["excluded_note"].format(names=_names(excluded)))
    if capped:
        notes.append(sel.copy["capped_note"].format(names=_names(capped)))
    return notes


def _summary(
    sel: Selection, priorities: list[dict[str, Any]], stability_first: bool, limited: bool
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
        text = sel.copy["summary_maintenance"]
    return f"{sel.copy['limited_prefix']} {text}" if limited else text
