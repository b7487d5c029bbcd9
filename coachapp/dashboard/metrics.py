"""Read-side aggregates for the owner's Insights page (plain dataclasses; no request, no clock).

The funnel lives in ``funnel.py``, the period and its week buckets in ``period.py``; this module
adds drop-off per assessment step, priorities and flags, and time to first contact, all for what
started in the period, followed to *now*.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import JSON, func, select, type_coerce

from coachapp.assessment import Rules
from coachapp.dashboard.funnel import Funnel, funnel, stage_after
from coachapp.dashboard.period import DEFAULT_WEEKS, Period, period_ending
from coachapp.extensions import db
from coachapp.leads.assessments import CONTACT_STEP
from coachapp.models import AssessmentSubmission, Coach, CoachTask, Lead, LeadEvent

#: Moving to one of these means the lead has been contacted (nurture/lost do not).
CONTACTED = ("contacted", "session_booked", "session_held", "no_show", "client")


@dataclass(frozen=True)
class StepCount:
    id: str
    title: str
    done: int  # submissions started in the period that completed this step
    stopped: int  # unfinished submissions whose next step is this one


def step_dropoff(period: Period, steps: Sequence[tuple[str, str]]) -> list[StepCount]:
    """Per assessment step (``(id, title)`` in order, the contact step last): done, and stopped here.

    ``steps_done`` is a JSON list, so this is counted in Python — over the web submissions started
    in the period only (API ones arrive whole), fetching just three small columns. A completed
    submission counts as having done every step. An unfinished one stopped at ``current_step`` if
    that step was saved but not done (e.g. after "Back"), otherwise at the first step it has not done.
    """
    order = [step_id for step_id, _ in steps]
    done: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    rows = db.session.execute(
        select(AssessmentSubmission.status, AssessmentSubmission.steps_done, AssessmentSubmission.current_step)
        .where(period.contains(AssessmentSubmission.started_at), AssessmentSubmission.channel == "web")
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
    """Top regions (GROUP BY ``top_priority``) and flags (counted in Python from each completed
    submission's ``flag_ids`` — a short list — or, for a row stored without them, ``result->flags``)."""
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
    stored = func.coalesce(AssessmentSubmission.flag_ids, AssessmentSubmission.result["flags"])
    for (flags,) in db.session.execute(select(type_coerce(stored, JSON)).where(completed)):
        ids: set[str] = set()
        for flag in flags if isinstance(flags, list) else []:
            if isinstance(flag, str) and flag:
                ids.add(flag)
                seen_labels.setdefault(flag, flag)
            elif isinstance(flag, dict) and flag.get("id"):
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
                .where(LeadEvent.kind == "stage", stage_after().in_(CONTACTED),
                       LeadEvent.lead_id.in_(period.lead_ids()))
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
