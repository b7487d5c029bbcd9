"""A coach's worklist, read side: whose leads and tasks are "mine", and what is new and untouched.

One definition for every place that tells a coach what to do: the Today page (dashboard) and
the daily digest email (followups) import these clauses, so "new" on Today and "new" in the
digest can never drift apart. Queries only; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, literal, or_, select

from coachapp.extensions import db
from coachapp.leads.worktime import end_of_local_day
from coachapp.models import Coach, CoachTask, Lead, LeadEvent

#: At most this many "new" leads are listed (Today and the digest alike).
NEW_LIMIT = 50


def in_care(coach: Coach) -> ColumnElement[bool]:
    """Leads in this coach's care: their own; the owner also has the unassigned ones."""
    if coach.is_owner:
        return or_(Lead.owner_id == coach.id, Lead.owner_id.is_(None))
    return Lead.owner_id == coach.id


def my_task(coach: Coach) -> ColumnElement[bool]:
    """Tasks for this coach, and unassigned ones on leads in their care."""
    return or_(CoachTask.coach_id == coach.id, CoachTask.coach_id.is_(None) & in_care(coach))


def untouched_new(coach: Coach) -> ColumnElement[bool]:
    """Leads in this coach's care at stage "new" that no coach has touched (no note, no task done).

    Two ``NOT EXISTS``, not ``NOT (EXISTS … OR EXISTS …)``: PostgreSQL turns each into an anti-join
    probing a partial index (notes, done tasks; the new leads come from one too), where the ``OR``
    form read every note and every done task into a hashed sub-plan on each call. The constants
    are written into the SQL (``_fixed``), so a prepared statement's generic plan can still use
    those partial indexes.
    """
    return (Lead.stage == _fixed("new")) & in_care(coach) & _untouched(Lead.id)


def untouched_new_ids(coach: Coach, cap: int) -> Select[tuple[int]]:
    """At most ``cap`` ids of ``untouched_new`` leads (not erased), for a count that says "cap or
    more" past it. The new leads in care are read first, in a subquery the planner keeps apart
    (``OFFSET 0``: from the partial ``ix_leads_new_owner_id``), and each is then probed for a note
    and a done task until ``cap`` are found. Written as one ``WHERE`` under a ``LIMIT``, PostgreSQL
    walked the whole primary key in id order instead, to merge-join without a sort: 30 ms for an
    owner with 11,000 new leads all touched, where this takes what the uncapped count did.
    """
    new = (select(Lead.id.label("id"))
           .where(Lead.erased_at.is_(None), Lead.stage == _fixed("new"), in_care(coach))
           .offset(0).subquery())
    return select(new.c.id.label("lead_id")).where(_untouched(new.c.id)).limit(cap)


def _untouched(lead_id: ColumnElement[int]) -> ColumnElement[bool]:
    """No note and no task done on that lead: two ``NOT EXISTS`` (anti-joins on partial indexes)."""
    no_note = ~exists().where(LeadEvent.lead_id == lead_id, LeadEvent.kind == _fixed("note"))
    no_task_done = ~exists().where(CoachTask.lead_id == lead_id, CoachTask.status == _fixed("done"))
    return no_note & no_task_done


def _fixed(value: str) -> ColumnElement[str]:
    """A constant rendered into the statement, not bound: partial indexes match on it."""
    return literal(value, literal_execute=True)


@dataclass
class Day:
    """What a coach has on today: overdue and due-today tasks, and new untouched leads.

    A lead is listed once: a new lead whose task is overdue or due today is under that task;
    a new lead whose task falls due later (next week, say) is under ``new``.
    """

    overdue: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    due_today: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    new: list[Lead] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.overdue or self.due_today or self.new)


def clinician_first(rows: list[tuple]) -> list[tuple]:
    """Rows of (task, lead): clinician-first leads on top, otherwise the order kept."""
    return sorted(rows, key=lambda row: not row[1].needs_clinician)


def open_tasks_before(coach: Coach, until: datetime) -> list[tuple[CoachTask, Lead]]:
    """This coach's open tasks due before ``until`` (overdue included), soonest first."""
    return [tuple(row) for row in db.session.execute(
        select(CoachTask, Lead).join(Lead, Lead.id == CoachTask.lead_id)
        .where(CoachTask.status == "open", CoachTask.due_at < until, Lead.erased_at.is_(None), my_task(coach))
        .order_by(CoachTask.due_at)
    ).all()]


def fresh_leads(coach: Coach) -> list[Lead]:
    """New and untouched leads in this coach's care, clinician-first, then newest first."""
    return list(db.session.execute(
        select(Lead).where(Lead.erased_at.is_(None), untouched_new(coach))
        .order_by(Lead.needs_clinician.desc(), Lead.created_at.desc()).limit(NEW_LIMIT)
    ).scalars().all())


def day_for(coach: Coach, now: datetime) -> Day:
    """The coach's day as the Today page shows it, without the "this week" section."""
    tasks = open_tasks_before(coach, end_of_local_day(now, coach.time_zone))
    day = Day(overdue=[(t, lead) for t, lead in tasks if t.due_at < now],
              due_today=[(t, lead) for t, lead in tasks if t.due_at >= now])
    listed = {lead.id for _, lead in tasks}
    fresh = fresh_leads(coach)
    day.new = [lead for lead in fresh if lead.id not in listed]
    day.overdue, day.due_today = clinician_first(day.overdue), clinician_first(day.due_today)
    return day
