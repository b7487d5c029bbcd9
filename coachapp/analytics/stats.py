"""Conversion statistics for the Outcomes page (pure: numbers in, frozen dataclasses out).

- ``wilson``: the Wilson score interval of a proportion (Wilson 1927; Newcombe 1998, method 3).
  Unlike "p ± 1.96·SE" it never leaves 0–100 %, and it is not zero-width at 0/n or n/n.
- ``outcome_row``: one group's counts along leads → requested → booked → attended → client, each
  step a share of the step before, and the whole way (client ÷ leads), every rate with its 95 %
  interval, or "too few leads to say" when its denominator is under the minimum.
- ``calibration``: the predicted tiers in order, each with its share of leads booked and becoming
  clients, and how its client rate compares with the next tier's (intervals apart or not).
- ``csv_rows``: the tables as rows of plain values (the view escapes formulas and writes the CSV).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from coachapp.analytics.settings import CONFIDENCE

Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054
#: The chain, in order; each step is a subset of the one before (per lead).
STEPS = ("leads", "requested", "booked", "attended", "clients")
STEP_LABELS = {"leads": "Leads", "requested": "Requested a session", "booked": "Session booked",
               "attended": "Attended", "clients": "Became a client"}
#: Comparing two tiers' client rates.
HIGHER, LOWER, OVERLAP, TOO_FEW = "higher", "lower", "overlap", "too_few"
VERDICTS = {HIGHER: "higher than", LOWER: "lower than", OVERLAP: "cannot be told apart yet from",
            TOO_FEW: "too few leads to compare with"}


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """The Wilson score interval for ``successes`` of ``trials`` (as proportions 0–1)."""
    if trials <= 0:
        raise ValueError("no trials: the interval is undefined")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be 0..{trials}, got {successes}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # At 0/n and n/n the bound is exactly 0 or 1 (no rounding crumbs such as 1e-17).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low, high)


@dataclass(frozen=True)
class Rate:
    """``successes`` of ``trials``; ``interval`` is None when there are too few trials to say."""

    successes: int
    trials: int
    interval: Interval | None

    @property
    def enough(self) -> bool:
        return self.interval is not None

    @property
    def value(self) -> float | None:
        return self.successes / self.trials if self.trials and self.enough else None


def rate(successes: int, trials: int, minimum: int) -> Rate:
    """A rate with its 95 % interval, or without one under ``minimum`` trials (at least one)."""
    enough = trials >= max(minimum, 1)
    return Rate(successes, trials, wilson(successes, trials) if enough else None)


@dataclass(frozen=True)
class Counts:
    """How many leads of a group reached each step (a later step is a subset of the one before)."""

    leads: int = 0
    requested: int = 0
    booked: int = 0
    attended: int = 0
    clients: int = 0

    def __post_init__(self) -> None:
        values = [getattr(self, step) for step in STEPS]
        if min(values) < 0 or any(later > earlier for earlier, later in zip(values, values[1:], strict=False)):
            raise ValueError(f"steps must be nested and not negative: {values}")

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, s) + getattr(other, s) for s in STEPS))

    def get(self, step: str) -> int:
        return int(getattr(self, step))


@dataclass(frozen=True)
class OutcomeRow:
    key: str
    label: str
    counts: Counts
    steps: Mapping[str, Rate]  # every step but "leads": its share of the step before
    overall: Rate  # clients ÷ leads


def outcome_row(key: str, label: str, counts: Counts, minimum: int) -> OutcomeRow:
    steps = {later: rate(counts.get(later), counts.get(earlier), minimum)
             for earlier, later in zip(STEPS, STEPS[1:], strict=False)}
    return OutcomeRow(key, label, counts, steps, rate(counts.clients, counts.leads, minimum))


def outcome_rows(groups: Iterable[tuple[str, str, Counts]], minimum: int) -> list[OutcomeRow]:
    """Rows for ``(key, label, counts)`` groups, the largest first (then by label)."""
    rows = [outcome_row(key, label, counts, minimum) for key, label, counts in groups]
    return sorted(rows, key=lambda r: (-r.counts.leads, r.label.casefold(), r.key))


def compare(a: Rate, b: Rate) -> str:
    """``a`` against ``b``: HIGHER or LOWER when the 95 % intervals do not overlap, OVERLAP when they
    do (the data cannot tell them apart yet), TOO_FEW when either has too few leads."""
    if a.interval is None or b.interval is None:
        return TOO_FEW
    if a.interval.low > b.interval.high:
        return HIGHER
    if a.interval.high < b.interval.low:
        return LOWER
    return OVERLAP


@dataclass(frozen=True)
class CalibrationRow:
    tier: str
    label: str
    counts: Counts
    booked: Rate  # booked ÷ leads
    clients: Rate  # clients ÷ leads
    next_tier: str | None  # the next tier in order that has leads, if any
    versus_next: str | None  # compare(clients, next tier's clients); None for the last


def calibration(counts: Mapping[str, Counts], order: Sequence[str], minimum: int,
                labels: Mapping[str, str] | None = None) -> list[CalibrationRow]:
    """The tiers in ``order`` (then any others, e.g. "no tier recorded") that have leads, each
    compared with the next one that has leads: a well-ordered model has every tier's client rate
    HIGHER than the next, or at least not LOWER."""
    names = [t for t in order if counts.get(t, Counts()).leads] + sorted(
        t for t in counts if t not in order and counts[t].leads)
    ranked = [t for t in names if t in order]
    out = []
    for tier in names:
        c = counts[tier]
        at = ranked.index(tier) if tier in ranked else len(ranked)
        following = ranked[at + 1] if at + 1 < len(ranked) else None
        clients = rate(c.clients, c.leads, minimum)
        verdict = None
        if following is not None:
            other = counts[following]
            verdict = compare(clients, rate(other.clients, other.leads, minimum))
        out.append(CalibrationRow(tier, (labels or {}).get(tier, tier), c, rate(c.booked, c.leads, minimum),
                                  clients, following, verdict))
    return out


def percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


_RATE_COLUMNS = ("requested % of leads", "booked % of requested", "attended % of booked",
                 "client % of attended", "client % of leads", "booked % of leads")
CSV_HEADER = ("table", "group", "answer", *STEPS,
              *(f"{name}{part}" for name in _RATE_COLUMNS for part in ("", " (95% low)", " (95% high)")),
              "versus the next tier")
_BLANK = ["", "", ""]


def _rate_cells(r: Rate) -> list[str]:
    if r.interval is None:
        return ["too few leads to say", "", ""] if r.trials else list(_BLANK)
    return [percent(r.successes / r.trials), percent(r.interval.low), percent(r.interval.high)]


def csv_rows(tables: Iterable[tuple[str, Iterable[tuple[str, str, OutcomeRow]]]],
             calibration_rows: Sequence[CalibrationRow]) -> list[list[str | int]]:
    """Every table as CSV rows (header first): ``tables`` is ``(table name, [(group, answer, row)])``;
    the calibration follows as table "calibration" (client and booked % of leads, and the verdict)."""
    out: list[list[str | int]] = [list(CSV_HEADER)]
    for name, rows in tables:
        for group, answer, row in rows:
            cells: list[str | int] = [name, group, answer, *(row.counts.get(s) for s in STEPS)]
            for step in STEPS[1:]:
                cells += _rate_cells(row.steps[step])
            out.append(cells + _rate_cells(row.overall) + _BLANK + [""])
    for c in calibration_rows:
        cells = ["calibration", c.label, "", *(c.counts.get(s) for s in STEPS)]
        cells += _BLANK * 4 + _rate_cells(c.clients) + _rate_cells(c.booked)
        cells.append(f"{VERDICTS[c.versus_next]} {c.next_tier}" if c.versus_next else "")
        out.append(cells)
    return out
