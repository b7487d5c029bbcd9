"""Follow-up tasks: one beat tick a minute runs sequences, reminders, escalations and digests."""

from __future__ import annotations

from celery import shared_task

from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.followups import reminders, services, session_reminders
from coachapp.models import utcnow
from coachapp.rules_store import get_rules


@shared_task(name="followups.sweep", ignore_result=True)
def sweep_followups() -> dict[str, int]:
    now = utcnow()
    counts = services.sweep(get_rules(), now)
    for name, job in (("due", reminders.remind_due), ("overdue", reminders.escalate_overdue),
                      ("digests", reminders.send_digests),
                      ("sessions", lambda at: session_reminders.send_session_reminders(get_rules(), at))):
        try:
            counts[name] = job(now)
            outbox.commit()
        except Exception:
            db.session.rollback()
            raise
    return counts
