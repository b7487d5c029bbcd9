"""Today, the coach's call list (issue 10): overdue, due today, new and untouched, this week.

Read-side queries only. "New" is every lead in the coach's care (their own; the owner also
sees unassigned ones) still at stage "new" that no coach has touched yet — no note, no task
done — whatever its task's due time, so a Friday-evening request is on Monday's list *and*
on Friday's. Clinician-first leads come first in every section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, or_, select

from coachapp.extensions import db
from coachapp.leads.worktime import end_of_local_day
from coachapp.models import Coach, CoachTask, Lead, LeadEvent

UPCOMING_DAYS = 7
NEW_LIMIT = 50


@dataclass
class Board:
    overdue: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    due_today: list[tuple[CoachTask, Lead]] = field(default_factory=list)
    new: list[tuple[CoachTask | None, Lead]] = field(default_factory=list)
    upcoming: list[tuple[CoachTask, Lead]] = field(default_factory=list)


def _mine(coach: Coach) -> ColumnElement[bool]:
    if coach.is_owner:
        return or_(Lead.owner_id == coach.id, Lead.owner_id.is_(None))
    return Lead.owner_id == coach.id


def _my_task(coach: Coach) -> ColumnElement[bool]:
    """Tasks for this coach, and unassigned ones on leads in their care."""
    return or_(CoachTask.coach_id == coach.id, CoachTask.coach_id.is_(None) & _mine(coach))


def _untouched_new(coach: Coach) -> ColumnElement[bool]:
    """Leads in this coach's care at stage "new" that no coach has touched (no note, no task done)."""
    touched = or_(
        exists().where(LeadEvent.lead_id == Lead.id, LeadEvent.kind == "note"),
        exists().where(CoachTask.lead_id == Lead.id, CoachTask.status == "done"),
    )
    return (Lead.stage == "new") & _mine(coach) & ~touched


def _clinician_first(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: not row[1].needs_clinician)  # stable: due order kept


def board(coach: Coach, now: datetime) -> Board:
    end_today = end_of_local_day(now, coach.time_zone)
    week_end = end_today + timedelta(days=UPCOMING_DAYS)
    tasks = db.session.execute(
        select(CoachTask, Lead).join(Lead, Lead.id == CoachTask.lead_id)
        .where(CoachTask.status == "open", CoachTask.due_at < week_end, Lead.erased_at.is_(None),
               _my_task(coach))
        .order_by(CoachTask.due_at)
    ).all()
    out = Board()
    for task, lead in tasks:
        due = task.due_at
        if due < now:
            out.overdue.append((task, lead))
        elif due < end_today:
            out.due_today.append((task, lead))
        else:
            out.upcoming.append((task, lead))
    fresh = db.session.execute(
        select(Lead).where(Lead.erased_at.is_(None), _untouched_new(coach))
        .order_by(Lead.needs_clinician.desc(), Lead.created_at.desc()).limit(NEW_LIMIT)
    ).scalars().all()
    open_task = {lead.id: task for task, lead in tasks}
    listed = {lead.id for _, lead in (*out.overdue, *out.due_today)}
    out.new = [(open_task.get(lead.id), lead) for lead in fresh if lead.id not in listed]
    new_ids = {lead.id for _, lead in out.new}
    out.upcoming = [(task, lead) for task, lead in out.upcoming if lead.id not in new_ids]  # each lead once
    out.overdue, out.due_today, out.upcoming = (
        _clinician_first(out.overdue), _clinician_first(out.due_today), _clinician_first(out.upcoming))
    return out


def waiting_count(coach: Coach, now: datetime) -> int:
    """The nav's number, in one statement: leads with a task due by tonight, or new and untouched."""
    end_today = end_of_local_day(now, coach.time_zone)
    due = exists().where(CoachTask.lead_id == Lead.id, CoachTask.status == "open",
                         CoachTask.due_at < end_today, _my_task(coach))
    return db.session.execute(
        select(func.count()).select_from(Lead)
        .where(Lead.erased_at.is_(None), or_(due, _untouched_new(coach)))
    ).scalar_one()
