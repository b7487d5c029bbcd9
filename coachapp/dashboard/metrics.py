"""Read-side aggregates for the owner's Insights page (plain dataclasses; no request, no clock).

One cohort everywhere: **what started in the period** — assessments by ``started_at``, leads by
``created_at`` — followed to *now* (a lead created in the period that became a client later still
counts). Weeks are ISO weeks (Monday 00:00) in the owner's time zone; their boundaries are computed
here and bucketed in SQL with a portable ``CASE``, so the same query runs on SQLite and PostgreSQL
(no ``date_trunc``/``strftime``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Select, case, func, literal, select

from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.leads.assessments import CONTACT_STEP
from coachapp.models import AssessmentSubmission, Coach, CoachTask, Lead, LeadEvent

PERIOD_WEEKS = (4, 12, 26, 52)
DEFAULT_WEEKS = 12
STEPS = ("started", "finished", "leads", "booked", "held", "clients")
STEP_LABELS = {"started": "Assessments started", "finished": "Assessments finished", "leads": "Leads",
               "booked": "Sessions booked", "held": "Sessions held", "clients": "Clients"}
#: How far along the pipeline a "stage" event's ``after`` is; reaching one counts for those before.
#: A no-show had a session booked, so it counts as booked (not held).
STAGE_RANK = {"session_booked": 1, "no_show": 1, "session_held": 2, "client": 3}
#: Moving to one of these means the lead has been contacted (nurture/lost do not).
CONTACTED = ("contacted", "session_booked", "session_held", "no_show", "client")


@dataclass(frozen=True)
class Period:
    """``weeks`` ISO weeks ending with the current one: ``starts[i]`` is week i's Monday 00:00 (aware UTC)."""

    starts: tuple[datetime, ...]
    end: datetime  # "now", exclusive
    tz: str

    @property
    def start(self) -> datetime:
        return self.starts[0]

    def week_labels(self) -> list[tuple[str, str]]:
        """``(short, long)`` per week, e.g. ``("17 Nov", "2026-W47 (from Mon 17 Nov 2026)")``."""
        out = []
        for moment in self.starts:
            local = moment.astimezone(ZoneInfo(self.tz))
            year, week, _ = local.isocalendar()
            out.append((f"{local.day} {local:%b}", f"{year}-W{week:02d} (from Mon {local.day} {local:%b %Y})"))
        return out

    def bucket(self, column: Any) -> ColumnElement[int]:
        """A portable SQL expression: the index of the week ``column`` falls in (rows are pre-filtered)."""
        whens = [(column < boundary, i) for i, boundary in enumerate(self.starts[1:])]
        return case(*whens, else_=len(self.starts) - 1) if whens else literal(0)

    def contains(self, column: Any) -> ColumnElement[bool]:
        return (column >= self.start) & (column < self.end)

    def leads(self) -> ColumnElement[bool]:
        """Leads created in the period and not erased (an erasure deletes their submissions and events)."""
        return self.contains(Lead.created_at) & Lead.erased_at.is_(None)

    def lead_ids(self) -> Select[tuple[int]]:
        """Ids of the period's leads (to narrow event and task scans)."""
        return select(Lead.id).where(self.leads())


def parse_weeks(raw: str | None) -> int:
    """``?weeks=`` → one of PERIOD_WEEKS; anything else falls back to the default."""
    try:
        weeks = int(raw or "")
    except ValueError:
        return DEFAULT_WEEKS
    return weeks if weeks in PERIOD_WEEKS else DEFAULT_WEEKS


def period_ending(now: datetime, weeks: int, tz: str = "UTC") -> Period:
    """The last ``weeks`` ISO weeks in ``tz`` (UTC if unknown) up to ``now`` (the current week is partial)."""
    try:
        zone = ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        tz, zone = "UTC", ZoneInfo("UTC")
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    starts = tuple(
        datetime.combine(monday - timedelta(weeks=weeks - 1 - i), time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))
        for i in range(weeks)
    )
    return Period(starts=starts, end=now, tz=tz)


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class FunnelRow:
    key: str  # a week's index as text, or a source
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))

    @property
    def lead_to_client(self) -> float | None:
        return pct(self.counts["clients"], self.counts["leads"])


@dataclass(frozen=True)
class Funnel:
    totals: dict[str, int]
    conversions: list[tuple[str, str, float | None]]  # (from step, to step, % or None)
    by_week: list[FunnelRow]  # one per week of the period, oldest first
    by_source: list[FunnelRow]  # by leads, then assessments started, descending


def _submission_source() -> ColumnElement[str]:
    """The first touch as ``lead.source`` is derived from it: utm_source, referrer host, or "direct"."""
    touch = AssessmentSubmission.first_touch
    return func.coalesce(func.nullif(func.substr(touch["utm_source"].as_string(), 1, 120), ""),
                         func.nullif(func.substr(touch["referrer_host"].as_string(), 1, 120), ""), "direct")


def _after() -> ColumnElement[str]:
    return LeadEvent.data["after"].as_string()


def funnel(period: Period) -> Funnel:
    """The funnel by ISO week and by source: two GROUP BY queries (assessments, leads)."""
    weeks = [FunnelRow(str(i)) for i in range(len(period.starts))]
    sources: dict[str, FunnelRow] = {}

    # Assessments started in the period, by week and first-touch source.
    sub = (select(period.bucket(AssessmentSubmission.started_at).label("week"),
                  _submission_source().label("source"),
                  AssessmentSubmission.status.label("status"))
           .where(period.contains(AssessmentSubmission.started_at)).subquery())
    rows = db.session.execute(
        select(sub.c.week, sub.c.source, func.count(), func.count(case((sub.c.status == "completed", 1))))
        .group_by(sub.c.week, sub.c.source)
    ).all()
    for week, source, started, finished in rows:
        for row in (weeks[int(week)], sources.setdefault(source, FunnelRow(source))):
            row.counts["started"] += started
            row.counts["finished"] += finished

    # Leads created in the period, and the furthest stage each reached (any time up to now).
    rank = case(*[(_after() == stage, value) for stage, value in STAGE_RANK.items()], else_=0)
    reached = (select(LeadEvent.lead_id.label("lead_id"), func.max(rank).label("rank"))
               .where(LeadEvent.kind == "stage", LeadEvent.lead_id.in_(period.lead_ids()))
               .group_by(LeadEvent.lead_id).subquery())
    leads = (select(period.bucket(Lead.created_at).label("week"), Lead.source.label("source"),
                    func.coalesce(reached.c.rank, 0).label("rank"))
             .outerjoin(reached, reached.c.lead_id == Lead.id)
             .where(period.leads()).subquery())
    rows = db.session.execute(
        select(leads.c.week, leads.c.source, func.count(),
               *[func.count(case((leads.c.rank >= level, 1))) for level in (1, 2, 3)])
        .group_by(leads.c.week, leads.c.source)
    ).all()
    for week, source, count, booked, held, clients in rows:
        for row in (weeks[int(week)], sources.setdefault(source, FunnelRow(source))):
            for step, value in zip(STEPS[2:], (count, booked, held, clients), strict=True):
                row.counts[step] += value

    totals = {step: sum(row.counts[step] for row in weeks) for step in STEPS}
    conversions = [(a, b, pct(totals[b], totals[a])) for a, b in zip(STEPS, STEPS[1:], strict=False)]
    ordered = sorted(sources.values(), key=lambda r: (-r.counts["leads"], -r.counts["started"], r.key))
    return Funnel(totals=totals, conversions=conversions, by_week=weeks, by_source=ordered)


@dataclass(frozen=True)
class StepCount:
    id: str
    title: str
    done: int  # submissions started in the period that completed this step
    stopped: int  # unfinished submissions whose next step is this one


def step_dropoff(period: Period, steps: Sequence[tuple[str, str]]) -> list[StepCount]:
    """Per assessment step (``(id, title)`` in order, the contact step last): done, and stopped here.

    ``steps_done`` is a JSON list, so this is counted in Python — over the submissions started in
    the period only, fetching just three small columns. A completed submission counts as having
    done every step. An unfinished one stopped at ``current_step`` if that step was saved but not
    done (e.g. after "Back"), otherwise at the first step it has not done.
    """
    order = [step_id for step_id, _ in steps]
    done: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    rows = db.session.execute(
        select(AssessmentSubmission.status, AssessmentSubmission.steps_done, AssessmentSubmission.current_step)
        .where(period.contains(AssessmentSubmission.started_at))
    ).all()
    for status, steps_done, current in rows:
        finished = set(steps_done or [])
        if status == "completed":
            done.update(order)
            continue
        done.update(s for s in order if s in finished)
        if current and current not in finished:
            stopped[current] += 1
        else:
            stopped[next((s for s in order if s not in finished), order[-1])] += 1
    titles = dict(steps)
    extra = [s for s in stopped if s not in titles]  # steps of an older rules version
    return [StepCount(s, titles.get(s, s), done[s], stopped[s]) for s in [*order, *extra]]


@dataclass(frozen=True)
class Tally:
    id: str
    label: str
    count: int


@dataclass(frozen=True)
class Priorities:
    completed: int
    regions: list[Tally]  # top priority region per completed submission (None → "No clear priority")
    flags: list[Tally]  # submissions carrying each flag id


def priorities(period: Period, region_labels: Mapping[str, str], flag_labels: Mapping[str, str]) -> Priorities:
    """Top regions (GROUP BY ``top_priority``) and flags (counted in Python from ``result->flags``
    only — not the whole result — of the completed submissions started in the period)."""
    completed = period.contains(AssessmentSubmission.started_at) & (AssessmentSubmission.status == "completed")
    region_rows = db.session.execute(
        select(AssessmentSubmission.top_priority, func.count()).where(completed)
        .group_by(AssessmentSubmission.top_priority)
    ).all()
    regions = [Tally(rid or "", region_labels.get(rid, rid) if rid else "No clear priority", n)
               for rid, n in region_rows]
    regions.sort(key=lambda t: (-t.count, t.label))
    counts: Counter[str] = Counter()
    seen_labels: dict[str, str] = {}
    for (flags,) in db.session.execute(select(AssessmentSubmission.result["flags"]).where(completed)):
        ids: set[str] = set()
        for flag in flags if isinstance(flags, list) else []:
            if isinstance(flag, dict) and flag.get("id"):
                ids.add(str(flag["id"]))
                seen_labels.setdefault(str(flag["id"]), str(flag.get("label") or flag["id"]))
        counts.update(ids)  # once per submission
    flag_tallies = [Tally(fid, flag_labels.get(fid) or seen_labels[fid], n) for fid, n in counts.items()]
    flag_tallies.sort(key=lambda t: (-t.count, t.label))
    return Priorities(completed=sum(t.count for t in regions), regions=regions, flags=flag_tallies)


@dataclass(frozen=True)
class CoachContact:
    coach_id: int
    name: str
    leads: int  # leads created in the period and assigned to this coach
    contacted: int  # … with a first contact (these give the median)
    waiting: int  # … not contacted yet and still "new"
    median_hours: float | None


def first_contact(period: Period) -> list[CoachContact]:
    """Median hours from lead creation to first contact, per owning coach (``Lead.owner_id``).

    First contact = the earliest of: a "stage" event to contacted or beyond (``CONTACTED``), and
    the completion of a ``first_contact`` task marked done (cancelled ones do not count). Both are
    reduced per lead in SQL (MIN … GROUP BY); medians need the per-lead durations, so one row per
    lead of the period comes back (owner, created, two timestamps). Leads closed without contact
    (nurture, lost) count in ``leads`` but neither contacted nor waiting.
    """
    stage_at = (select(LeadEvent.lead_id.label("lead_id"), func.min(LeadEvent.created_at).label("at"))
                .where(LeadEvent.kind == "stage", _after().in_(CONTACTED), LeadEvent.lead_id.in_(period.lead_ids()))
                .group_by(LeadEvent.lead_id).subquery())
    task_at = (select(CoachTask.lead_id.label("lead_id"), func.min(CoachTask.completed_at).label("at"))
               .where(CoachTask.kind == "first_contact", CoachTask.status == "done",
                      CoachTask.completed_at.is_not(None), CoachTask.lead_id.in_(period.lead_ids()))
               .group_by(CoachTask.lead_id).subquery())
    rows = db.session.execute(
        select(Lead.owner_id, Lead.created_at, Lead.stage, stage_at.c.at, task_at.c.at)
        .outerjoin(stage_at, stage_at.c.lead_id == Lead.id).outerjoin(task_at, task_at.c.lead_id == Lead.id)
        .where(Lead.owner_id.is_not(None), period.leads())
    ).all()
    hours: dict[int, list[float]] = {}
    totals: Counter[int] = Counter()
    waiting: Counter[int] = Counter()
    for owner_id, created, stage, by_stage, by_task in rows:
        totals[owner_id] += 1
        moments = [m for m in (by_stage, by_task) if m is not None]
        if moments:
            hours.setdefault(owner_id, []).append(max((min(moments) - created).total_seconds(), 0) / 3600)
        elif stage == "new":
            waiting[owner_id] += 1
    names = dict(db.session.execute(
        select(Coach.id, Coach.name).where(Coach.id.in_(list(totals)) | Coach.active.is_(True))).all())
    return sorted(
        (CoachContact(cid, name, totals[cid], len(hours.get(cid, [])), waiting[cid],
                      round(median(hours[cid]), 1) if hours.get(cid) else None) for cid, name in names.items()),
        key=lambda c: (c.median_hours is None, c.median_hours or 0, c.name),
    )


@dataclass(frozen=True)
class Report:
    period: Period
    funnel: Funnel
    steps: list[StepCount]
    priorities: Priorities
    first_contact: list[CoachContact]


def insights_report(rules: Rules, now: datetime, weeks: int = DEFAULT_WEEKS, tz: str = "UTC") -> Report:
    """Everything the Insights page shows, for the last ``weeks`` ISO weeks up to ``now`` in ``tz``."""
    period = period_ending(now, weeks, tz)
    steps = [(s.id, s.title) for s in rules.assessment.sections] + [(CONTACT_STEP, "Contact details")]
    return Report(
        period=period,
        funnel=funnel(period),
        steps=step_dropoff(period, steps),
        priorities=priorities(period, {r.id: r.label for r in rules.regions.regions},
                              {f.id: f.label for f in rules.flags}),
        first_contact=first_contact(period),
    )
