"""Today, the coach's call list (issue 10): overdue, due today, new and untouched, this week.

Read-side queries only. "New" is every lead in the coach's care (their own; the owner also
sees unassigned ones) still at stage "new" that no coach has touched yet — no note, no task
done — whatever its task's due time, so a Friday-evening request is on Monday's list *and*
on Friday's. Clinician-first leads come first in every section. Those clauses live in
``coachapp.leads.worklist``, so the daily digest means the same by "new".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select, union

from coachapp.extensions import db
from coachapp.leads.worklist import clinician_first, fresh_leads, in_care, open_tasks_before, untouched_new
from coachapp.leads.worktime import end_of_local_day
from coachapp.models import Booking, Coach, CoachTask, Lead

UPCOMING_DAYS = 7


@dataclass
class Board:
    overdue: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    due_today: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    new: list[tuple[CoachTask | None, Lead]] = field(default_factory=list)
    upcoming: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    sessions: list[tuple[Booking, Lead]] = field(default_factory=list)


def board(coach: Coach, now: datetime) -> Board:
    end_today = end_of_local_day(now, coach.time_zone)
    week_end = end_today + timedelta(days=UPCOMING_DAYS)
    tasks = open_tasks_before(coach, week_end)
    out = Board()
    for task, lead in tasks:
        due = task.due_at
        if due < now:
            out.overdue.append((task, lead))
        elif due < end_today:
            out.due_today.append((task, lead))
        else:
            out.upcoming.append((task, lead))
    fresh = fresh_leads(coach)
    open_task = {lead.id: task for task, lead in tasks}
    listed = {lead.id for _, lead in (*out.overdue, *out.due_today)}
    out.new = [(open_task.get(lead.id), lead) for lead in fresh if lead.id not in listed]
    new_ids = {lead.id for _, lead in out.new}
    out.upcoming = [(task, lead) for task, lead in out.upcoming if lead.id not in new_ids]  # each lead once
    out.overdue, out.due_today, out.upcoming = (
        clinician_first(out.overdue), clinician_first(out.due_today), clinician_first(out.upcoming))
    out.sessions = sessions(coach, now, week_end)
    return out


#: A session stays on Today to be marked attended / no-show for this long after it started.
MARK_WITHIN = timedelta(days=3)


def sessions(coach: Coach, now: datetime, until: datetime) -> list[tuple[Booking, Lead]]:
    """The coach's booked sessions (in-app ones carry the coach; a webhook's belongs to its
    lead's owner), from those still to be marked to this week's."""
    rows = db.session.execute(
        select(Booking, Lead).join(Lead, Lead.id == Booking.lead_id)
        .where(Booking.status == "booked", Booking.start_at >= now - MARK_WITHIN, Booking.start_at < until,
               Lead.erased_at.is_(None),
               or_(Booking.coach_id == coach.id, and_(Booking.coach_id.is_(None), Lead.owner_id == coach.id)))
        .order_by(Booking.start_at)
    ).all()
    return [(booking, lead) for booking, lead in rows]


#: The nav shows "99+" from here on: each id set stops at this many rows, so a coach with
#: thousands of new leads costs what one with a hundred does.
WAITING_CAP = 100


def waiting_count(coach: Coach, now: datetime) -> int:
    """The nav's number, in one statement: leads with a task due by tonight, or new and untouched;
    ``WAITING_CAP`` or more means "at least that many"."""
    return db.session.execute(waiting_query(coach, now)).scalar_one()


def waiting_query(coach: Coach, now: datetime, cap: int = WAITING_CAP) -> Select[tuple[int]]:
    """How many leads wait for ``coach`` today (see ``waiting_count``).

    On every dashboard page, so it is a ``UNION`` of three id sets each read from an index, never
    a pass over all leads: this coach's open tasks due by tonight (``coach_id, status, due_at``),
    the unassigned ones on leads in their care (the same index, ``coach_id IS NULL``), and the new
    leads in their care (partial ``ix_leads_new_owner_id``) with no note and no task done (anti-joins
    on the partial ``ix_lead_events_note_lead_id`` and ``ix_coach_tasks_done_lead_id``). The ``OR``
    of ``EXISTS`` over every lead it replaces took 150 ms at 100,000 leads, the uncapped ``UNION``
    8–12 ms with 5,000 new leads in the owner's care (the anti-joins visit each); each set stops at
    ``cap`` rows, so the count is exact below ``cap`` and "``cap`` or more" from there
    (docs/benchmarks.md, "Reads at 100,000 leads").
    """
    end_today = end_of_local_day(now, coach.time_zone)
    due = (select(CoachTask.lead_id.label("lead_id")).join(Lead, Lead.id == CoachTask.lead_id)
           .where(CoachTask.status == "open", CoachTask.due_at < end_today, Lead.erased_at.is_(None)))
    branches = (
        due.where(CoachTask.coach_id == coach.id),  # my_task(coach), one index range per branch
        due.where(CoachTask.coach_id.is_(None), in_care(coach)),
        select(Lead.id.label("lead_id")).where(Lead.erased_at.is_(None), untouched_new(coach)),
    )
    capped = [select(part.c.lead_id) for part in (branch.limit(cap).subquery() for branch in branches)]
    return select(func.count()).select_from(union(*capped).subquery())
