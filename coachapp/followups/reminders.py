"""Coach reminders that do not depend on memory: due, overdue (to the owner), daily digest.

Each email has a purpose key (``task-due:<id>``, ``task-overdue:<id>``, ``digest:<coach>:<date>``),
so a sweep that runs twice, or two sweepers at once, still send one of each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from coachapp.emails.outbox import queue_email
from coachapp.extensions import db
from coachapp.leads.services import add_event
from coachapp.leads.worktime import end_of_local_day
from coachapp.links import external_url
from coachapp.models import Coach, CoachTask, Lead


def _common() -> dict[str, str]:
    return {"dashboard_url": external_url("dashboard.today")}


def _owners() -> list[str]:
    owners = db.session.execute(select(Coach.email).where(Coach.is_owner, Coach.active)).scalars().all()
    return owners or [current_app.config["OWNER_EMAIL"] or current_app.config["MAIL_FROM"]]


def remind_due(now: datetime) -> int:
    """Tell the coach when a task becomes due."""
    rows = db.session.execute(
        select(CoachTask, Lead, Coach).join(Lead, Lead.id == CoachTask.lead_id)
        .join(Coach, Coach.id == CoachTask.coach_id)
        .where(CoachTask.status == "open", CoachTask.due_at <= now, CoachTask.reminded_at.is_(None),
               Lead.erased_at.is_(None), Coach.active)
    ).all()
    for task, lead, coach in rows:
        queue_email(purpose_key=f"task-due:{task.id}", kind="task_due", to=coach.email, template="task_due",
                    lead_id=lead.id, task=task, lead=lead, coach=coach,
                    lead_url=external_url("dashboard.lead", lead_id=lead.id), **_common())
        task.reminded_at = now
    return len(rows)


def escalate_overdue(now: datetime) -> int:
    """Tell the owner about tasks overdue by more than ESCALATE_AFTER_MINUTES."""
    cutoff = now - timedelta(minutes=current_app.config["ESCALATE_AFTER_MINUTES"])
    rows = db.session.execute(
        select(CoachTask, Lead).join(Lead, Lead.id == CoachTask.lead_id)
        .where(CoachTask.status == "open", CoachTask.due_at <= cutoff, CoachTask.escalated_at.is_(None),
               Lead.erased_at.is_(None))
    ).all()
    for task, lead in rows:
        coach = db.session.get(Coach, task.coach_id) if task.coach_id else None
        for index, owner in enumerate(_owners()):
            queue_email(purpose_key=f"task-overdue:{task.id}:{index}", kind="task_overdue", to=owner,
                        template="task_overdue", lead_id=lead.id, task=task, lead=lead, coach=coach,
                        lead_url=external_url("dashboard.lead", lead_id=lead.id), **_common())
        task.escalated_at = now
        add_event(lead.id, "task", f"Overdue task escalated to the owner: {task.title}", now, task_id=task.id)
    return len(rows)


def send_digests(now: datetime) -> int:
    """At DIGEST_HOUR local time, each active coach gets today's calls, overdue tasks and new leads."""
    hour = current_app.config["DIGEST_HOUR"]
    sent = 0
    for coach in db.session.execute(select(Coach).where(Coach.active)).scalars():
        local = now.astimezone(ZoneInfo(coach.time_zone))
        if local.hour < hour or coach.last_digest_on == local.date():
            continue
        end_of_day = end_of_local_day(now, coach.time_zone)
        tasks = db.session.execute(
            select(CoachTask, Lead).join(Lead, Lead.id == CoachTask.lead_id)
            .where(CoachTask.status == "open", CoachTask.coach_id == coach.id, CoachTask.due_at < end_of_day,
                   Lead.erased_at.is_(None)).order_by(CoachTask.due_at)
        ).all()
        new_leads = db.session.execute(
            select(Lead).where(Lead.owner_id.is_(None) if not coach.is_owner else Lead.id.is_not(None),
                               Lead.created_at >= now - timedelta(days=1), Lead.erased_at.is_(None))
            .order_by(Lead.tier.nulls_last()).limit(20)
        ).scalars().all()
        coach.last_digest_on = local.date()
        if not tasks and not new_leads:
            continue  # nothing to say: no email
        queue_email(purpose_key=f"digest:{coach.id}:{local.date().isoformat()}", kind="coach_digest",
                    to=coach.email, template="coach_digest", coach=coach, now=now,
                    overdue=[(t, lead) for t, lead in tasks if t.due_at <= now],
                    today=[(t, lead) for t, lead in tasks if t.due_at > now], new_leads=new_leads,
                    local_date=local.date(), **_common())
        sent += 1
    return sent
