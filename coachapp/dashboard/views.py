"""Today, the lead page and its actions, the pipeline board and the outbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from coachapp.dashboard import bp
from coachapp.dashboard.access import lead_scope
from coachapp.extensions import db
from coachapp.models import CoachTask, Lead, utcnow


def _end_of_today(tz: str, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)


@bp.get("/")
def today() -> str:
    """The signed-in coach's tasks (overdue first, then due today) and leads waiting for an owner."""
    coach = current_user
    now = utcnow()
    end = _end_of_today(coach.time_zone, now)
    tasks = db.session.execute(
        select(CoachTask, Lead)
        .join(Lead, Lead.id == CoachTask.lead_id)
        .where(CoachTask.status == "open", CoachTask.due_at < end, Lead.erased_at.is_(None),
               (CoachTask.coach_id == coach.id) | (CoachTask.coach_id.is_(None)))
        .order_by(CoachTask.due_at)
    ).all()
    unowned = db.session.execute(
        select(Lead).where(Lead.owner_id.is_(None), Lead.erased_at.is_(None), lead_scope(coach))
        .order_by(Lead.tier.nulls_last(), Lead.created_at.desc()).limit(50)
    ).scalars().all()
    return render_template("dashboard/today.html", tasks=tasks, unowned=unowned, now=now)
