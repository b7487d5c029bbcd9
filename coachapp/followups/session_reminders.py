"""Reminders before a session booked in the app: a day before (in the runner's daytime window)
and an hour before (whenever that is: the call is imminent). Run by the follow-ups beat sweep.

Nothing is planned ahead: each minute the sweep looks at sessions still booked that start within
``day_before``, and queues the reminder that is due now (``slots.reminder_due``). So a cancelled
session gets none (checked when the email is written), a moved one gets reminders for its new time
(the start is in the purpose key ``session-reminder:<booking>:<start>:<day|hour>``), and a sweep
that runs twice, or two at once, queue one email per purpose (the outbox's unique key).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from coachapp.assessment import Rules
from coachapp.emails.outbox import queue_email
from coachapp.extensions import db
from coachapp.leads.scheduling import call_details
from coachapp.leads.slots import reminder_due, when_text
from coachapp.links import booking_urls
from coachapp.models import Booking, Coach, Lead
from coachapp.models.booking import IN_APP


def send_session_reminders(rules: Rules, now: datetime) -> int:
    """Queue the reminders due now; returns how many were due (queued now or before: the outbox
    keeps one per purpose key)."""
    booking_rules = rules.booking
    window = rules.sequences.windows[booking_rules.remind_window]
    rows = db.session.execute(
        select(Booking, Lead, Coach).join(Lead, Lead.id == Booking.lead_id).join(Coach, Coach.id == Booking.coach_id)
        .where(Booking.provider == IN_APP, Booking.status == "booked", Booking.start_at > now,
               Booking.start_at <= now + booking_rules.remind_day_before + timedelta(minutes=1),
               Lead.erased_at.is_(None))
    ).all()
    due = 0
    for booking, lead, coach in rows:
        zone = booking.time_zone or lead.time_zone or coach.time_zone
        which = reminder_due(booking.start_at, booking.updated_at, now, booking_rules, window.hours(zone))
        if which is None:
            continue
        key = f"session-reminder:{booking.id}:{booking.start_at.isoformat(timespec='minutes')}:{which}"
        queue_email(purpose_key=key, kind="session_reminder", to=lead.email_display,
                              template="session_reminder", lead_id=lead.id, soon=which == "hour",
                              first_name=lead.first_name, coach_name=coach.name,
                              when=when_text(booking.start_at, booking.end_at, zone),
                              details=call_details(lead, coach), urls=booking_urls(booking.id, booking.end_at))
        due += 1
    return due
