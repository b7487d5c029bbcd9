"""The Outcomes page's report: grouped counts (``outcomes.outcome_counts``) → labelled rows with
rates and intervals (``coachapp.analytics.stats``), and the snapshot that lets page views reuse one count.

Counting reads every lead of the period with its stored assessment (answers and result are JSON
documents, parsed per row): seconds at 100,000 leads. So the counts — a few hundred small rows,
no personal data — are stored in ``insight_snapshots`` under (page, weeks, zone, rules version) and
reused for ``rules/insights.yaml`` ``snapshot.minutes``; a page view then reads one row and builds
the report in Python (``snapshots.py``). The owner can count again at once ("Count again now").
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coachapp.analytics.answers import CoreQuestion, core_questions
from coachapp.analytics.stats import CalibrationRow, Counts, OutcomeRow, calibration, outcome_row, outcome_rows
from coachapp.assessment import Rules
from coachapp.dashboard.outcomes import DIMENSIONS, NO_TIER, outcome_counts
from coachapp.dashboard.period import DEFAULT_WEEKS, Period, period_ending
from coachapp.dashboard.snapshots import reuse_or_count
from coachapp.dashboard.sources import SourceNames
from coachapp.leads.priority import TIERS

CountRow = tuple[str, Any, Any, int, int, int, int, int]


@dataclass(frozen=True)
class AnswerTable:
    question: CoreQuestion
    rows: list[OutcomeRow]  # in the rules' option order (unknown values last)


@dataclass(frozen=True)
class OutcomeReport:
    period: Period
    computed_at: datetime  # when the counts were taken (the period ends then)
    minimum: int
    total: OutcomeRow  # every lead of the period
    assessed: int  # … of whom finished an assessment (the population of priorities, flags and answers)
    tiers: list[OutcomeRow]  # predicted tier, A1 … C3, then "no tier recorded"
    sources: list[OutcomeRow]
    priorities: list[OutcomeRow]
    flags: list[OutcomeRow]
    answers: list[AnswerTable]
    calibration: list[CalibrationRow]

    @property
    def empty(self) -> bool:
        return self.total.counts.leads == 0

    def tables(self) -> list[tuple[str, list[tuple[str, str, OutcomeRow]]]]:
        """Every table as ``(name, [(group, answer, row)])``, for the CSV."""
        plain = [("all leads", [self.total]), ("tier", self.tiers), ("source", self.sources),
                 ("top priority", self.priorities), ("flag", self.flags)]
        out = [(name, [(r.label, "", r) for r in rows]) for name, rows in plain]
        out.append(("answer", [(t.question.text, r.label, r) for t in self.answers for r in t.rows]))
        return out


def outcomes_report(rules: Rules, now: datetime, weeks: int = DEFAULT_WEEKS, tz: str = "UTC") -> OutcomeReport:
    """The Outcomes page for the last ``weeks`` ISO weeks up to ``now`` in ``tz``, counted now."""
    period = period_ending(now, weeks, tz)
    return build_report(rules, period, now, outcome_counts(period, [q.id for q in core_questions(rules.assessment)]))


def build_report(rules: Rules, period: Period, computed_at: datetime, counted: list[CountRow]) -> OutcomeReport:
    """Labelled tables from the grouped counts (pure apart from the rules it is given)."""
    minimum = rules.insights.minimum_leads
    questions = core_questions(rules.assessment)
    grouped: dict[str, dict[tuple[str | None, str | None], Counts]] = {d: {} for d in DIMENSIONS}
    for dimension, key, value, *numbers in counted:
        found = grouped[dimension]
        found[key, value] = found.get((key, value), Counts()) + Counts(*numbers)
    tiers = {k or NO_TIER: c for (k, _), c in grouped["tier"].items()}
    total = sum(tiers.values(), Counts())
    tier_labels = {t: f"{t}: {rules.leads.tier_in_words(t)}" for t in TIERS} | {NO_TIER: "No tier recorded"}
    names = SourceNames()
    sources: dict[str, Counts] = {}
    for (raw, _), c in grouped["source"].items():
        key = names.add(raw, c.leads)
        sources[key] = sources.get(key, Counts()) + c
    regions: dict[str | None, str] = {r.id: r.label for r in rules.regions.regions}
    regions |= {"": "No clear priority", None: "No completed assessment"}
    priorities = [("none" if k is None else k, regions.get(k) or str(k), c)
                  for (k, _), c in grouped["priority"].items()]
    flag_labels = {f.id: f.label for f in rules.flags}
    answers = []
    for q in questions:
        rows = [outcome_row(v or "", q.label(v or ""), c, minimum)
                for (k, v), c in grouped["answer"].items() if k == q.id]
        answers.append(AnswerTable(q, sorted(rows, key=lambda r, q=q: (q.order(r.key), r.label))))
    return OutcomeReport(
        period=period, computed_at=computed_at, minimum=minimum, total=outcome_row("all", "All leads", total, minimum),
        assessed=sum(c.leads for (k, _), c in grouped["priority"].items() if k is not None),
        tiers=[outcome_row(t, tier_labels.get(t, t), tiers[t], minimum) for t in (*TIERS, NO_TIER) if t in tiers]
        + [outcome_row(t, t, c, minimum) for t, c in sorted(tiers.items()) if t not in (*TIERS, NO_TIER)],
        sources=outcome_rows(((k, names.label(k), c) for k, c in sources.items()), minimum),
        priorities=outcome_rows(priorities, minimum),
        flags=outcome_rows(((k, flag_labels.get(k, k), c) for (k, _), c in grouped["flag"].items()), minimum),
        answers=answers,
        calibration=calibration(tiers, TIERS, minimum, tier_labels),
    )


#: Reports built from a snapshot, by (snapshot key, counted at): a view of unchanged counts builds
#: nothing (~5 ms of CPU at 100,000 leads). Per process, a few entries (pages × periods × zones).
_BUILT: OrderedDict[tuple[str, datetime], OutcomeReport] = OrderedDict()
_BUILT_SIZE = 16


def cached_report(rules: Rules, now: datetime, weeks: int = DEFAULT_WEEKS, tz: str = "UTC",
                  recount: bool = False) -> OutcomeReport:
    """The report from counts younger than ``snapshot.minutes`` (``snapshots.reuse_or_count``), else
    counted now and stored (the caller commits). Reused counts keep the period they were counted
    for (it ends when they were counted)."""
    period = period_ending(now, weeks, tz)
    questions = [q.id for q in core_questions(rules.assessment)]
    key = f"outcomes:{weeks}:{period.tz}:{rules.version}"
    rows, counted_at, fresh = reuse_or_count(
        key, now, timedelta(minutes=rules.insights.snapshot_minutes), period.start,
        lambda: [list(r) for r in outcome_counts(period, questions)], recount)
    built = None if fresh else _BUILT.get((key, counted_at))  # counted now: build (and replace)
    if built is None:
        built = build_report(rules, period_ending(counted_at, weeks, tz), counted_at, [tuple(r) for r in rows])
        _BUILT[key, counted_at] = built
        while len(_BUILT) > _BUILT_SIZE:
            _BUILT.popitem(last=False)
    return built
