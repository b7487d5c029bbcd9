"""rules/plans/selection.yaml: which exercises a runner gets, validated on load."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, file_header, judgement
from .conditions import Condition, RefTable, compile_condition
from .library import KINDS, Exercise
from .templates import Labels, Template, compile_template

SLOTS = ("daily", "end_range", "strength")
GROUPS = ("stability", "region_1", "base", "region_2", "flags", "maintenance", "drills", "region_3")
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
    "capped_note": {"names"},
    "no_drills_note": set(),
    "summary_maintenance_untested": set(),
    "side_note": {"side", "other"},
    "end_range_check_note": {"names", "region"},
    "starter_note": set(),
    "gate_no_high_intensity": set(),
    "gate_no_load_progression": set(),
    "gate_avoid_painful_areas": set(),
    "hold_load": set(),
    "why_maintenance_step_down": WHY_FIELDS,
    "maintenance_note": {"regions"},
    "new_priority_note": {"regions"},
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
class TendonSwap:
    """A recent tendon problem: swap sustained loaded end-range work at that joint."""

    id: str
    when: Condition
    replace: Mapping[str, str]
    why: str
    note: str


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
    tendon_swaps: tuple[TendonSwap, ...] = ()
    starter_when: Condition | None = None


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
        data,
        issues,
        (*keys, "stability_first", "flag_additions", "copy", "advice_always"),
        ("tendon_swaps", "starter_when", "coach_judgement"),
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
    for old, new in replace.items():
        if new in exercises and exercises[new].passive_end_range:
            issues.add(sf.where, f"'{old}' is replaced by '{new}', a passive end-range hold")
    for ident in sf.str_list("add"):
        if ident in exercises and exercises[ident].passive_end_range:
            issues.add(sf.where, f"'{ident}' is a passive end-range hold")
    copy = Node(head.raw("copy"), "copy", issues, tuple(COPY_FIELDS))
    texts = {key: copy.str(key) or "" for key in COPY_FIELDS}
    for key, text in texts.items():
        _format_ok(text, COPY_FIELDS[key], issues, f"copy '{key}'")
    judgement(head, (), {"max_items": head.raw("max_items")})
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
        tendon_swaps=tuple(
            swap
            for raw in head.list("tendon_swaps")
            if (swap := _tendon_swap(raw, issues, check, refs)) is not None
        ),
        starter_when=(
            compile_condition(head.raw("starter_when"), refs, issues, "starter_when")
            if head.has("starter_when")
            else None
        ),
    )


def _tendon_swap(raw: Any, issues: Issues, check: _Refs, refs: RefTable) -> TendonSwap | None:
    ident = raw.get("id") if isinstance(raw, Mapping) else None
    where = f"tendon_swap '{ident}'"
    node = Node(raw, where, issues, ("id", "when", "replace", "why", "note"))
    if not node.ok:
        return None
    when = compile_condition(node.raw("when"), refs, issues, where)
    replace = {str(k): str(v) for k, v in node.mapping("replace").items()}
    check.ids([*replace, *replace.values()], where)
    for old, new in replace.items():
        ex_old, ex_new = check.exercises.get(old), check.exercises.get(new)
        if ex_new is not None and ex_new.passive_end_range:
            issues.add(where, f"'{new}' is itself a sustained end-range hold")
        if ex_old is not None and not (ex_old.passive_end_range or ex_old.kind == "end_range_active"
                                       or ex_old.kind == "strength"):
            issues.add(where, f"'{old}' is not loaded end-range or strength work")
    why = node.str("why") or ""
    _format_ok(why, WHY_FIELDS, issues, where)
    if when is None:
        return None
    return TendonSwap(str(ident), when, replace, why, node.str("note") or "")


