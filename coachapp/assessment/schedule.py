"""Weekly schedule: training phase by weeks to race, and block placement around run days."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._schema import Issues, Node, file_header, judgement
from .conditions import Facts, RefTable, make_getter
from .library import BLOCKS, Exercise
from .templates import Labels, Template, compile_template

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_ORDER = ("daily", "drills", "end_range", "strength", "stability")
PHASE_COUNTS = ("strength_per_week", "end_range_per_week", "stability_per_week", "drills_per_week")


@dataclass(frozen=True, slots=True)
class Phase:
    id: str
    label: str
    lo: float | None
    hi: float | None
    strength: int
    end_range: int
    stability: int
    drills: int
    note: Template | None
    note_new_to_strength: Template | None = None  # when the runner does no strength work yet


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    default_run_days: tuple[str, ...]
    long_run_preference: tuple[str, ...]
    quality_runs: tuple[tuple[int, int], ...]
    no_quality_flags: frozenset[str]
    phase_input: Callable[[Facts], Any]
    phases: tuple[Phase, ...]
    no_race: Phase
    titles: Mapping[str, str]
    run_days_by_count: Mapping[int, tuple[str, ...]] = None  # type: ignore[assignment]

    def phase(self, facts: Facts) -> Phase:
        """The phase whose weeks-to-race band holds the input; ``no_race`` otherwise."""
        weeks = self.phase_input(facts)
        if weeks is not None:
            for phase in self.phases:
                if (phase.lo is None or weeks >= phase.lo) and (
                    phase.hi is None or weeks < phase.hi
                ):
                    return phase
        return self.no_race


def _phase(
    raw: Any, where: str, issues: Issues, refs: RefTable, labels: Labels, banded: bool
) -> Phase:
    optional = ("note", "note_new_to_strength", "coach_judgement")
    optional += ("gte", "lt") if banded else ()
    node = Node(raw, where, issues, ("id", "label", *PHASE_COUNTS), optional)
    judgement(node, ())  # the research gives no phase numbers: each says why
    counts = [node.int(key, 0) or 0 for key in PHASE_COUNTS]
    if any(not 0 <= c <= 7 for c in counts):
        issues.add(where, "per-week counts must be between 0 and 7")
    if banded and not (node.has("gte") or node.has("lt")):
        issues.add(where, "a phase needs 'gte' and/or 'lt' weeks")
    note = (
        compile_template(node.raw("note"), refs, labels, issues, where)
        if node.has("note")
        else None
    )
    note_new = (
        compile_template(node.raw("note_new_to_strength"), refs, labels, issues, where)
        if node.has("note_new_to_strength")
        else None
    )
    return Phase(
        str(node.raw("id")),
        node.str("label") or "",
        node.num("gte"),
        node.num("lt"),
        *counts,
        note,
        note_new,
    )


def _days(node: Node, key: str) -> tuple[str, ...]:
    days = node.str_list(key)
    for day in days:
        if day not in DAYS:
            node.issues.add(node.where, f"'{key}': unknown day '{day}' (use {', '.join(DAYS)})")
    return days


def load_schedule(
    data: Any, issues: Issues, refs: RefTable, labels: Labels, flag_ids: Iterable[str]
) -> ScheduleConfig:
    keys = ("default_run_days", "long_run_preference", "quality_runs", "no_quality_flags")
    head = file_header(
        data,
        issues,
        (*keys, "phase_input", "phases", "no_race", "blocks", "run_days_by_count"),
        ("coach_judgement",),
    )
    judgement(head, (), {"quality_runs": head.raw("quality_runs")})
    by_count: dict[int, tuple[str, ...]] = {}
    for count, days in head.mapping("run_days_by_count").items():
        day_node = Node({"days": days}, f"run_days_by_count {count}", issues, ("days",))
        chosen = _days(day_node, "days")
        if not isinstance(count, int) or not 1 <= count <= 7 or len(set(chosen)) != count:
            issues.add("run_days_by_count", f"{count}: list exactly {count} different days (1–7 runs)")
        by_count[int(count) if isinstance(count, int) else 0] = chosen
    if sorted(by_count) != list(range(1, 8)):
        issues.add("run_days_by_count", "give the days for each count from 1 to 7")
    quality = []
    for raw in head.list("quality_runs"):
        q = Node(raw, "quality_runs", issues, ("min_run_days", "count"))
        quality.append((q.int("min_run_days", 7) or 7, q.int("count", 0) or 0))
    no_quality = head.str_list("no_quality_flags")
    for flag in no_quality:
        if flag not in flag_ids:
            issues.add("no_quality_flags", f"unknown flag '{flag}'")
    ref = head.str("phase_input") or ""
    if ref not in refs or refs[ref].kind != "number":
        issues.add("phase_input", f"'{ref}' must be a numeric ref such as derived.weeks_to_race")
    phases = tuple(
        _phase(
            raw,
            f"phase '{raw.get('id') if isinstance(raw, Mapping) else raw}'",
            issues,
            refs,
            labels,
            True,
        )
        for raw in head.list("phases")
    )
    ordered = sorted(phases, key=lambda p: -math.inf if p.lo is None else p.lo)
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if prev.hi is None or nxt.lo is None or nxt.lo < prev.hi:
            issues.add(f"phase '{nxt.id}'", f"phase bands overlap at {nxt.lo}")
        elif nxt.lo > prev.hi:
            issues.add(
                f"phase '{nxt.id}'", f"phase bands leave a gap between {prev.hi} and {nxt.lo}"
            )
    blocks = Node(head.raw("blocks"), "blocks", issues, BLOCKS)
    return ScheduleConfig(
        default_run_days=_days(head, "default_run_days"),
        long_run_preference=_days(head, "long_run_preference"),
        quality_runs=tuple(sorted(quality)),
        no_quality_flags=frozenset(no_quality),
        phase_input=make_getter(ref, refs),
        phases=tuple(ordered),
        no_race=_phase(head.raw("no_race"), "no_race", issues, refs, labels, False),
        titles={b: blocks.str(b) or b for b in BLOCKS},
        run_days_by_count=by_count,
    )


def _gap(a: int, b: int) -> int:
    d = abs(a - b)
    return min(d, 7 - d)


def _choose(
    candidates: Sequence[int], n: int, pref: Callable[[int], int], fixed: Iterable[int] = ()
) -> tuple[int, ...]:
    """Pick n days: fewest back-to-back days (also against ``fixed``), then the lowest
    preference total, then the widest spacing."""
    n = min(n, len(candidates))
    if n <= 0:
        return ()
    fixed = tuple(fixed)

    def cost(combo: tuple[int, ...]) -> tuple[int, int, int]:
        days = combo + fixed
        pairs = [_gap(a, b) for a, b in itertools.combinations(days, 2)]
        return (sum(p <= 1 for p in pairs), sum(map(pref, combo)), -min(pairs, default=7))

    return tuple(sorted(min(itertools.combinations(candidates, n), key=cost)))


@lru_cache(maxsize=4096)
def _skeleton(
    runs: frozenset[int], long: int | None, n_quality: int, counts: tuple[int, int, int, int]
) -> tuple[tuple[str | None, ...], dict[str, tuple[int, ...]]]:
    """Run types per day and the day indices of each placed block (memoised: it's pure)."""
    n_strength, n_end, n_stab, n_drills = counts
    quality = _choose(
        sorted(runs - {long}), n_quality, lambda d: 0, () if long is None else (long,)
    )
    run: list[str | None] = [None] * 7
    for day in runs:
        run[day] = "long" if day == long else "quality" if day in quality else "easy"
    rank = {None: 0, "quality": 1, "easy": 2, "long": 3}
    not_long = [d for d in range(7) if d != long]
    eve = None if long is None else (long - 1) % 7  # the day before the long run
    cands = [d for d in not_long if d != eve] or not_long
    strength = _choose(cands, n_strength, lambda d: rank[run[d]])
    easy = [d for d in not_long if run[d] in (None, "easy")]
    end_range = _choose(
        easy if len(easy) >= n_end else not_long,
        n_end,
        lambda d: 2 * (d in strength) + rank[run[d]] // 2 + (d == eve),
    )
    stability = _choose(
        not_long, n_stab, lambda d: 2 * (d in strength) + (d in end_range) + (d == eve)
    )
    drill_days = [d for d in range(7) if run[d] in ("quality", "easy")]
    drills = _choose(drill_days, n_drills, lambda d: rank[run[d]])
    days = tuple(range(7))
    return tuple(run), {
        "daily": days,
        "drills": drills,
        "end_range": end_range,
        "strength": strength,
        "stability": stability,
    }


def resolve_days(
    config: ScheduleConfig, run_days: Any, long_answer: Any, runs_per_week: Any = None
) -> tuple[frozenset[int], int | None]:
    """Run days (the days, else a count's usual days, else the default) and the long-run day
    (answer, preference or last run day). More than 7 runs a week use all 7 days."""
    fallback = [DAYS.index(d) for d in config.default_run_days]
    text = str(runs_per_week or "")
    count = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else 0
    if count >= 1:
        fallback = [DAYS.index(d) for d in config.run_days_by_count.get(min(7, count), ())]
        if long_answer in DAYS and fallback:  # turn the week so its long run lands on their day
            shift = DAYS.index(long_answer) - fallback[-1]
            fallback = [(d + shift) % 7 for d in fallback]
    runs = {DAYS.index(d) for d in (run_days or ()) if d in DAYS} or set(fallback)
    if long_answer in DAYS:
        runs.add(DAYS.index(long_answer))
        return frozenset(runs), DAYS.index(long_answer)
    if long_answer == "none" or len(runs) < 2:
        return frozenset(runs), None
    preferred = [DAYS.index(d) for d in config.long_run_preference if DAYS.index(d) in runs]
    return frozenset(runs), preferred[0] if preferred else max(runs)


def build_week(
    config: ScheduleConfig,
    phase: Phase,
    runs: frozenset[int],
    long: int | None,
    no_quality: bool,
    blocks: Mapping[str, list[Exercise]],
) -> list[dict[str, Any]]:
    """Seven days, Mon–Sun, each with its run type and ordered exercise blocks."""
    n_quality = (
        0
        if no_quality
        else max(
            (count for min_days, count in config.quality_runs if len(runs) >= min_days), default=0
        )
    )
    want = (phase.strength, phase.end_range, phase.stability, phase.drills)
    counts = tuple(
        n if blocks.get(b) else 0
        for n, b in zip(want, ("strength", "end_range", "stability", "drills"), strict=True)
    )
    run, placed = _skeleton(runs, long, n_quality, counts)
    week = []
    for day in range(7):
        day_blocks = [
            {
                "block": block,
                "title": config.titles[block],
                "minutes": sum(e.minutes for e in blocks[block]),
                "items": [e.id for e in blocks[block]],
            }
            for block in DAY_ORDER
            if blocks.get(block) and day in placed[block]
        ]
        week.append({"day": DAY_NAMES[day], "run": run[day], "blocks": day_blocks})
    return week
