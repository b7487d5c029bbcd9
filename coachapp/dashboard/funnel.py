"""The Insights funnel — a true funnel, so no step can exceed the one before it.

visits → started → finished → requested → booked → client, for what started in the period:

- **visits**: views of the assessment's intro page (``page_visits``, counted per hour).
- **started**: web assessments started in the period (API submissions are counted apart).
- **finished**: runners (leads) with one of those assessments completed, at any time since. A
  runner who finished twice counts once, in the week and source of their first one.
- **requested**: of those runners, the ones who asked for a strategy session after finishing.
- **booked** / **clients**: of those, the ones moved (at any time, or there now) to a booked
  session (held or no-show included) / to client.

Visits have no identity, so "started ÷ visits" is an aggregate: it is shown only when visits were
counted over the whole period and are not fewer than the starts. From "finished" on, every count
is a subset of the step before, per lead. Leads who reached a step some other way (the strategy
form with no assessment before it; booked by a coach without a request) are counted beside the
funnel (``OUTSIDE``), never in it. Sources are merged by name (``sources.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Subquery, case, func, select

from coachapp.dashboard.period import Period, pct
from coachapp.dashboard.sources import SourceNames
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, LeadEvent, PageVisit, StrategyRequest
from coachapp.models.visit import ASSESSMENT_INTRO

STEPS = ("visits", "started", "finished", "requested", "booked", "clients")
STEP_LABELS = {"visits": "Visited the assessment page", "started": "Started the assessment",
               "finished": "Finished the assessment", "requested": "Then requested a strategy session",
               "booked": "Then had a session booked", "clients": "Then became a client"}
#: Counted beside the funnel, never in it.
OUTSIDE = ("direct_requests", "direct_booked", "direct_clients", "unrequested_booked", "unrequested_clients",
           "api_started")
OUTSIDE_LABELS = {"direct_requests": "Requested without an assessment",
                  "direct_booked": "… of whom had a session booked", "direct_clients": "… of whom became clients",
                  "unrequested_booked": "Finished the assessment, booked without requesting",
                  "unrequested_clients": "… of whom became clients",
                  "api_started": "Assessments sent through the API"}
#: How far along the pipeline a stage is; a later one counts for those before (a no-show was booked).
STAGE_RANK = {"session_booked": 1, "no_show": 1, "session_held": 2, "client": 3}
BOOKED, CLIENT = 1, 3
#: Where people enter (each counted once): their spellings name a merged source.
ENTRIES = ("visits", "started", "api_started", "direct_requests")


@dataclass
class FunnelRow:
    key: str  # a week's index as text, or a source's merged key
    label: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*STEPS, *OUTSIDE), 0))

    @property
    def started_to_client(self) -> float | None:
        return pct(self.counts["clients"], self.counts["started"])


@dataclass(frozen=True)
class Funnel:
    totals: dict[str, int]  # every key of STEPS and OUTSIDE
    conversions: list[tuple[str, str, float | None]]  # (step, next step, % of step or None)
    by_week: list[FunnelRow]  # one per week of the period, oldest first
    by_source: list[FunnelRow]  # by assessments started, then visits, descending
    visits_since: datetime | None  # the first hour with a counted visit; None if none yet
    visits_cover_period: bool  # visits were counted from the start of the period


def stage_after() -> ColumnElement[str]:
    """The stage a "stage" event moved the lead to."""
    return LeadEvent.data["after"].as_string()


def submission_source() -> ColumnElement[str]:
    """The first touch as ``lead.source`` is derived from it: utm_source, referrer host, or "direct"."""
    touch = AssessmentSubmission.first_touch
    return func.coalesce(func.nullif(func.substr(touch["utm_source"].as_string(), 1, 120), ""),
                         func.nullif(func.substr(touch["referrer_host"].as_string(), 1, 120), ""), "direct")


def _reached(lead_ids: Select[tuple[int]]) -> Subquery:
    """The furthest ``STAGE_RANK`` each of these leads was ever moved to (one row per lead with a move)."""
    rank = case(*[(stage_after() == stage, value) for stage, value in STAGE_RANK.items()], else_=0)
    return (select(LeadEvent.lead_id.label("lead_id"), func.max(rank).label("rank"))
            .where(LeadEvent.kind == "stage", LeadEvent.lead_id.in_(lead_ids))
            .group_by(LeadEvent.lead_id).subquery())


class _Tally:
    """Adds counts to a week row and to a source row (merged by name)."""

    def __init__(self, period: Period) -> None:
        self.weeks = [FunnelRow(str(i)) for i in range(len(period.starts))]
        self.sources: dict[str, FunnelRow] = {}
        self.names = SourceNames()

    def add(self, week: int, source: str | None, step: str, n: int = 1) -> None:
        if n <= 0:
            return
        key = self.names.add(source, n if step in ENTRIES else 0)
        self.weeks[int(week)].counts[step] += n
        self.sources.setdefault(key, FunnelRow(key)).counts[step] += n


def funnel(period: Period) -> Funnel:
    """The funnel by ISO week and by source (five queries: visits, starts, runners, direct requests, first visit)."""
    tally = _Tally(period)
    _visits(period, tally)
    _starts(period, tally)
    _runners(period, tally)
    _direct_requests(period, tally)

    totals = {key: sum(row.counts[key] for row in tally.weeks) for key in (*STEPS, *OUTSIDE)}
    since = db.session.scalar(select(func.min(PageVisit.hour)).where(PageVisit.page == ASSESSMENT_INTRO))
    covered = since is not None and since <= period.start
    conversions = []
    for step, following in zip(STEPS, STEPS[1:], strict=False):
        share = pct(totals[following], totals[step])
        if step == "visits" and (not covered or totals["started"] > totals["visits"]):
            share = None  # visits have no identity: only comparable when counted all along
        conversions.append((step, following, share))
    for row in tally.sources.values():
        row.label = tally.names.label(row.key)
    ordered = sorted(tally.sources.values(), key=lambda r: (-r.counts["started"], -r.counts["visits"],
                                                             -r.counts["direct_requests"], r.label.casefold()))
    return Funnel(totals=totals, conversions=conversions, by_week=tally.weeks, by_source=ordered,
                  visits_since=since, visits_cover_period=covered)


def _visits(period: Period, tally: _Tally) -> None:
    visits = (select(period.bucket(PageVisit.hour).label("week"), PageVisit.source.label("source"),
                     PageVisit.count.label("n"))
              .where(PageVisit.page == ASSESSMENT_INTRO, period.contains(PageVisit.hour)).subquery())
    for week, source, n in db.session.execute(
        select(visits.c.week, visits.c.source, func.sum(visits.c.n)).group_by(visits.c.week, visits.c.source)
    ):
        tally.add(week, source, "visits", int(n or 0))


def _starts(period: Period, tally: _Tally) -> None:
    """Assessments started in the period: web ones in the funnel, API ones beside it."""
    sub = (select(period.bucket(AssessmentSubmission.started_at).label("week"),
                  submission_source().label("source"), AssessmentSubmission.channel.label("channel"))
           .where(period.contains(AssessmentSubmission.started_at)).subquery())
    for week, source, web, other in db.session.execute(
        select(sub.c.week, sub.c.source, func.count(case((sub.c.channel == "web", 1))),
               func.count(case((sub.c.channel != "web", 1))))
        .group_by(sub.c.week, sub.c.source)
    ):
        tally.add(week, source, "started", web)
        tally.add(week, source, "api_started", other)


def _runners(period: Period, tally: _Tally) -> None:
    """Runners who finished a web assessment started in the period, and how far each went after.

    One row per such completed assessment (small columns); each runner counts once, at their
    first (by start). "Requested" means a strategy request at or after that assessment's completion;
    a runner who never sent one but was booked is counted beside the funnel.
    """
    done = ((AssessmentSubmission.status == "completed") & (AssessmentSubmission.channel == "web")
            & period.contains(AssessmentSubmission.started_at))
    runners = select(AssessmentSubmission.lead_id).where(done)
    last_request = (select(StrategyRequest.lead_id.label("lead_id"), func.max(StrategyRequest.created_at).label("at"))
                    .where(StrategyRequest.lead_id.in_(runners)).group_by(StrategyRequest.lead_id).subquery())
    reached = _reached(runners)
    rows = db.session.execute(
        select(AssessmentSubmission.lead_id, period.bucket(AssessmentSubmission.started_at), submission_source(),
               AssessmentSubmission.completed_at, last_request.c.at, reached.c.rank, Lead.stage)
        .join(Lead, Lead.id == AssessmentSubmission.lead_id)
        .outerjoin(last_request, last_request.c.lead_id == AssessmentSubmission.lead_id)
        .outerjoin(reached, reached.c.lead_id == AssessmentSubmission.lead_id)
        .where(done, Lead.erased_at.is_(None))
        .order_by(AssessmentSubmission.lead_id, AssessmentSubmission.started_at, AssessmentSubmission.id)
    ).all()
    seen: set[int] = set()
    for lead_id, week, source, completed_at, requested_at, moved, stage in rows:
        if lead_id in seen:
            continue
        seen.add(lead_id)
        rank = max(moved or 0, STAGE_RANK.get(stage, 0))
        tally.add(week, source, "finished")
        if requested_at is None:  # never asked: booked only if a coach reached out
            tally.add(week, source, "unrequested_booked", int(rank >= BOOKED))
            tally.add(week, source, "unrequested_clients", int(rank >= CLIENT))
        elif completed_at is None or requested_at >= completed_at:
            tally.add(week, source, "requested")
            tally.add(week, source, "booked", int(rank >= BOOKED))
            tally.add(week, source, "clients", int(rank >= CLIENT))
        # else: they asked before the assessment only, so they are counted with the direct requests


def _direct_requests(period: Period, tally: _Tally) -> None:
    """Leads whose first strategy request ever falls in the period, with no assessment completed
    before it (straight to the form), by the week of that request and the lead's source."""
    first = (select(StrategyRequest.lead_id.label("lead_id"), func.min(StrategyRequest.created_at).label("at"))
             .group_by(StrategyRequest.lead_id).subquery())
    in_period = period.contains(first.c.at)
    earlier = (select(AssessmentSubmission.id)
               .where(AssessmentSubmission.lead_id == first.c.lead_id, AssessmentSubmission.status == "completed",
                      AssessmentSubmission.completed_at <= first.c.at).exists())
    reached = _reached(select(first.c.lead_id).where(in_period))
    rows = db.session.execute(
        select(period.bucket(first.c.at), Lead.source, reached.c.rank, Lead.stage)
        .join(Lead, Lead.id == first.c.lead_id).outerjoin(reached, reached.c.lead_id == first.c.lead_id)
        .where(in_period, Lead.erased_at.is_(None), ~earlier)
    ).all()
    for week, source, moved, stage in rows:
        rank = max(moved or 0, STAGE_RANK.get(stage, 0))
        tally.add(week, source, "direct_requests")
        tally.add(week, source, "direct_booked", int(rank >= BOOKED))
        tally.add(week, source, "direct_clients", int(rank >= CLIENT))
