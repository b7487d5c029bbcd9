"""Strategy sessions booked in the app: offer free slots, hold one, move it, cancel it, mark it.

Services flush; the view commits. A session is a ``Booking`` with provider ``coachapp``, its
coach and time, so everything that reads bookings (the webhooks' cancellation logic, the
pipeline) treats it like a Cal.com or Calendly one.

**The hold** is the database's: a partial unique index on (coach, start) over booked in-app
sessions (``models.booking``). Two requests for one slot both see it free, both write; the second
write fails (PostgreSQL: it waits for the first to commit, then reports the unique violation;
SQLite: one writer at a time) and becomes ``SlotTaken``, "just taken, pick another". A move is
one UPDATE of the start: the new slot is held and the old one freed by the same statement. A
second partial unique index keeps one booked in-app session per lead: booking again moves it.

Stage moves go through ``triage.change_stage`` (``session_booked``: the ``booked`` stop rule stops
the sales sequences; ``no_show`` starts the no-show sequence; a cancellation goes back as
``bookings.after_cancellation`` decides, with the owner's follow-up task).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from coachapp.assessment import Rules
from coachapp.emails.outbox import queue_email
from coachapp.extensions import db
from coachapp.leads import triage
from coachapp.leads.bookings import BOOK_FROM, NO_SHOW_FROM, after_cancellation
from coachapp.leads.services import add_event
from coachapp.leads.slots import Day, by_day, free_slots, horizon, when_text
from coachapp.leads.worktime import WorkingHours
from coachapp.links import booking_urls, external_url
from coachapp.models import Booking, Coach, Lead
from coachapp.models.booking import IN_APP
from coachapp.session_calendar import Person, invite, session_uid

ACTIVE = ("booked", "rescheduling")
BY = "the runner (booking page)"


class SlotTaken(Exception):
    """Someone else held that slot first (or it is no longer free)."""


class NotBookable(Exception):
    """Slot picking is off, or the lead has no coach with working hours to pick from."""


@dataclass(frozen=True)
class Offer:
    coach: Coach
    zone: str  # the prospect's zone: the days and times are shown in it
    days: list[Day]

    @property
    def empty(self) -> bool:
        return not self.days


def coach_for(rules: Rules, lead: Lead) -> Coach | None:
    """The lead's coach, when slot picking is on and they are active; else None (a call back)."""
    if not rules.booking.slot_picking or lead.owner_id is None:
        return None
    coach = db.session.get(Coach, lead.owner_id)
    return coach if coach is not None and coach.active else None


def zone_of(lead: Lead, coach: Coach) -> str:
    return lead.time_zone or coach.time_zone


def active_booking(lead_id: int) -> Booking | None:
    return db.session.execute(select(Booking).where(
        Booking.lead_id == lead_id, Booking.provider == IN_APP, Booking.status == "booked")).scalar_one_or_none()


def _hours(rules: Rules, coach: Coach) -> WorkingHours:
    return triage.working_hours_for(rules, coach)


def _busy(coach: Coach, since: datetime, until: datetime, skip: int | None) -> list[tuple[datetime, datetime]]:
    """The coach's bookings from any provider: in-app ones carry the coach, a webhook's belongs
    to its lead's owner."""
    query = (select(Booking.start_at, Booking.end_at).join(Lead, Lead.id == Booking.lead_id)
             .where(Booking.status.in_(ACTIVE), Booking.start_at < until, Booking.end_at > since,
                    or_(Booking.coach_id == coach.id, and_(Booking.coach_id.is_(None), Lead.owner_id == coach.id))))
    if skip is not None:
        query = query.where(Booking.id != skip)
    return [(s, e) for s, e in db.session.execute(query) if s is not None and e is not None]


def _free(rules: Rules, coach: Coach, now: datetime, skip: int | None = None) -> list[datetime]:
    hours = _hours(rules, coach)
    pad = timedelta(minutes=rules.booking.buffer_minutes)
    busy = _busy(coach, now - rules.booking.slot - pad, horizon(hours, rules.booking, now) + pad, skip)
    return free_slots(hours, busy, rules.booking, now)


def offer(rules: Rules, lead: Lead, now: datetime, moving: Booking | None = None) -> Offer:
    coach = db.session.get(Coach, moving.coach_id) if moving is not None and moving.coach_id else coach_for(rules, lead)
    if coach is None:
        raise NotBookable()
    zone = zone_of(lead, coach)
    free = _free(rules, coach, now, moving.id if moving else None)
    if moving is not None:  # its own time is not a choice; the times next to it are
        free = [start for start in free if start != moving.start_at]
    return Offer(coach, zone, by_day(free, zone))


def book(rules: Rules, lead: Lead, start: datetime, now: datetime) -> Booking:
    """Hold ``start`` for the lead with their coach; a lead already booked is moved instead."""
    current = active_booking(lead.id)
    if current is not None:
        return reschedule(rules, current, start, now)
    coach = coach_for(rules, lead)
    if coach is None:
        raise NotBookable()
    if start not in _free(rules, coach, now):
        raise SlotTaken()
    booking = Booking(lead_id=lead.id, provider=IN_APP, uid=secrets.token_hex(12), coach_id=coach.id,
                      start_at=start, end_at=start + rules.booking.slot, time_zone=zone_of(lead, coach),
                      status="booked", stage_before=lead.stage, sequence=0, created_at=now, updated_at=now)
    _hold(booking)
    add_event(lead.id, "booking", f"Session booked in the app for {_iso(booking)}", now, provider=IN_APP,
              booking_id=booking.id, start=booking.start_at.isoformat(timespec="minutes"))
    if lead.stage in BOOK_FROM:
        triage.change_stage(rules, lead, "session_booked", now, by=BY)
    _emails(booking, lead, coach, "booked", now)
    return booking


def reschedule(rules: Rules, booking: Booking, start: datetime, now: datetime) -> Booking:
    """Move the session to ``start`` (held atomically; the old slot is freed by the same UPDATE)."""
    lead = db.session.get(Lead, booking.lead_id)
    coach = db.session.get(Coach, booking.coach_id) if booking.coach_id else None
    if coach is None or booking.status != "booked":
        raise NotBookable()
    if start == booking.start_at:
        return booking
    if start not in _free(rules, coach, now, skip=booking.id):
        raise SlotTaken()
    before = _iso(booking)
    booking.start_at, booking.end_at = start, start + rules.booking.slot
    booking.sequence += 1
    booking.updated_at = now
    _hold(booking)
    add_event(lead.id, "booking", f"Session moved in the app from {before} to {_iso(booking)}", now,
              provider=IN_APP, booking_id=booking.id, start=booking.start_at.isoformat(timespec="minutes"))
    if lead.stage in BOOK_FROM:
        triage.change_stage(rules, lead, "session_booked", now, by=BY)
    _emails(booking, lead, coach, "moved", now)
    return booking


def cancel(rules: Rules, booking: Booking, now: datetime) -> None:
    """Cancel the session: the slot is free again, CANCEL invites go out, the stage goes back."""
    if booking.status != "booked":
        return
    lead = db.session.get(Lead, booking.lead_id)
    coach = db.session.get(Coach, booking.coach_id) if booking.coach_id else None
    booking.status, booking.updated_at = "cancelled", now
    booking.sequence += 1
    when = _iso(booking)
    add_event(lead.id, "booking", f"Booking cancelled in the app: {when}", now, provider=IN_APP,
              booking_id=booking.id)
    after_cancellation(rules, lead, booking, when, now, by=BY)
    if coach is not None:
        _emails(booking, lead, coach, "cancelled", now)


def mark(rules: Rules, booking: Booking, outcome: str, by: Coach, now: datetime) -> str:
    """The coach marks the session attended (→ ``session_held``) or missed (→ ``no_show``, which
    starts the no-show sequence as the dashboard's stage move does)."""
    if outcome not in ("attended", "no_show"):
        raise ValueError(f"unknown outcome {outcome!r}")
    if booking.status not in ("booked", "held", "no_show"):
        raise ValueError("This session was cancelled.")
    lead = db.session.get(Lead, booking.lead_id)
    booking.status, booking.updated_at = ("held" if outcome == "attended" else "no_show"), now
    add_event(lead.id, "booking", f"Session {_iso(booking)} marked {outcome.replace('_', '-')} by {by.name}",
              now, booking_id=booking.id)
    if outcome == "attended" and lead.stage in ("new", "contacted", "nurture", "session_booked", "no_show"):
        triage.change_stage(rules, lead, "session_held", now, by=by.name)
    elif outcome == "no_show" and lead.stage in NO_SHOW_FROM:
        triage.change_stage(rules, lead, "no_show", now, by=by.name)
    return booking.status


def _hold(booking: Booking) -> None:
    """Write the booking in a savepoint: the unique index refusing it means someone else has it."""
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as exc:
        raise SlotTaken() from exc


def _iso(booking: Booking) -> str:
    return f"{booking.start_at.isoformat(timespec='minutes')} – {booking.end_at.isoformat(timespec='minutes')}"


def name_of(lead: Lead) -> str:
    return " ".join(filter(None, [lead.first_name, lead.last_name])) or lead.email_display


def call_details(lead: Lead, coach: Coach) -> str:
    if lead.phone:
        return f"Phone call: {coach.name} calls you on {lead.phone}."
    return f"Video call: {coach.name} emails you the link before the call."


def _emails(booking: Booking, lead: Lead, coach: Coach, change: str, now: datetime) -> None:
    """The runner's and the coach's email, each with the invite (REQUEST, or CANCEL)."""
    urls = booking_urls(booking.id, booking.end_at)
    zone = zone_of(lead, coach)
    details = call_details(lead, coach)
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    ics = invite(method="CANCEL" if change == "cancelled" else "REQUEST", uid=session_uid(booking.uid, host),
                 sequence=booking.sequence, start=booking.start_at, end=booking.end_at, zone=zone,
                 organizer=Person(coach.name, coach.email), attendee=Person(name_of(lead), lead.email_display),
                 summary=f"Free strategy session: {name_of(lead)} with {coach.name}",
                 description=f"{details}\nReschedule: {urls.reschedule}\nCancel: {urls.cancel}",
                 stamp=now, url=urls.manage)
    key = f"session-{change}:{booking.id}:{booking.sequence}"
    queue_email(purpose_key=key, kind=f"session_{change}", to=lead.email_display, template="session_invite",
                lead_id=lead.id, capped=True, ics=ics, change=change, first_name=lead.first_name,
                coach_name=coach.name, when=when_text(booking.start_at, booking.end_at, zone), details=details,
                urls=urls)
    queue_email(purpose_key=f"{key}:coach", kind=f"session_{change}_coach", to=coach.email,
                template="session_invite_coach", lead_id=lead.id, ics=ics, change=change, coach_name=coach.name,
                lead_name=name_of(lead), phone=lead.phone, email=lead.email_display,
                when=when_text(booking.start_at, booking.end_at, coach.time_zone),
                lead_url=external_url("dashboard.lead", lead_id=lead.id))
