"""Coach reminders that do not depend on memory: due, overdue (to the owner), daily digest.

The digest lists what the Today page lists (``coachapp.leads.worklist``), at the coach's local
morning on their working days.

Each email has a purpose key (``task-due:<id>``, ``task-overdue:<id>``, ``digest:<coach>:<date>``),
so a sweep that runs twice, or two sweepers at once, still send one of each.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from coachapp.emails.outbox import queue_email
from coachapp.extensions import db
from coachapp.leads.services import add_event
from coachapp.leads.triage import working_hours_for
from coachapp.leads.worklist import day_for
from coachapp.leads.worktime import WorkingHours
from coachapp.links import external_url
from coachapp.models import Coach, CoachTask, Lead
from coachapp.rules_store import get_rules

#: The digest goes out from DIGEST_HOUR for this many hours (a late sweep still sends it; an
#: afternoon one does not: by then it is no longer a morning summary).
DIGEST_WINDOW_HOURS = 4


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
    """Each active coach's digest, in their local morning on the days they work.

    Sent from DIGEST_HOUR for DIGEST_WINDOW_HOURS local time, on a day the coach's working hours
    have time in (their own hours, else the business's; days off count as not working). A day
    they do not work is skipped and not marked done, so the next working morning sends. The
    lists are Today's (``coachapp.leads.worklist``): overdue, due today, new and untouched —
    nothing in any of them, no email (the day is done all the same).
    """
    hour = current_app.config["DIGEST_HOUR"]
    rules = get_rules()
    sent = 0
    for coach in db.session.execute(select(Coach).where(Coach.active).order_by(Coach.id)).scalars():
        local = now.astimezone(ZoneInfo(coach.time_zone))
        if not hour <= local.hour < hour + DIGEST_WINDOW_HOURS or coach.last_digest_on == local.date():
            continue
        if not works_on(working_hours_for(rules, coach), local.date()):
            continue  # not their day: the next working morning sends
        coach.last_digest_on = local.date()
        day = day_for(coach, now)
        if not day:
            continue  # nothing to say: no email
        zone = ZoneInfo(coach.time_zone)
        queue_email(purpose_key=f"digest:{coach.id}:{local.date().isoformat()}", kind="coach_digest",
                    to=coach.email, template="coach_digest", coach=coach, local_date=local.date(),
                    overdue=[_task_line(t, lead, zone) for t, lead in day.overdue],
                    today=[_task_line(t, lead, zone) for t, lead in day.due_today],
                    new_leads=[_lead_line(lead) for lead in day.new],
                    digest_hour=f"{hour:02d}:00", **_common())
        sent += 1
    return sent


def works_on(hours: WorkingHours, day: date) -> bool:
    """Whether ``day`` has any working time in the weekly pattern and is not a day off."""
    return day not in hours.days_off and bool(hours.week[day.weekday()])


def _name(lead: Lead) -> str:
    return " ".join(filter(None, [lead.first_name, lead.last_name])) or lead.email_display


def _task_line(task: CoachTask, lead: Lead, zone: ZoneInfo) -> dict[str, str]:
    """A task's title names its lead ("First contact: Dana (A2)"); its due time in the coach's zone."""
    due = task.due_at.astimezone(zone)
    return {"title": task.title, "due": f"{due:%a} {due.day} {due:%b %H:%M}",
            "url": external_url("dashboard.lead", lead_id=lead.id)}


def _lead_line(lead: Lead) -> dict[str, str]:
    return {"name": _name(lead), "tier": lead.tier or "", "url": external_url("dashboard.lead", lead_id=lead.id)}
