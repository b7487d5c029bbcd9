"""Apply a booking event from Cal.com or Calendly to the lead, in the caller's transaction.

Services flush; the webhook view commits. ``apply`` first stores the event in ``webhook_events``
with ``INSERT … ON CONFLICT DO NOTHING``: the unique (provider, event_id) is what makes a retried
or replayed delivery change nothing — a second copy arriving at the same moment waits on the
first one's row lock (PostgreSQL) or its write lock (SQLite) and then inserts nothing.

What each kind does (the stages are ``models.STAGES``; a stage change goes through
``triage.change_stage``, exactly like the dashboard's, so it re-tiers the lead, closes its
first-contact task and emits ``LeadChanged`` — the follow-up sequences re-plan: the ``booked``
stop rule stops the sales sequences, and a move to ``no_show`` starts the rebooking sequence):

- **created** — the lead is matched by normalised email (or created, source "Cal.com" /
  "Calendly", no consent and no health data: a booking asks for neither; a cancellation or a
  no-show about a booking we never saw only matches an existing lead, so it never creates one —
  nor brings back a lead erased on request); a ``Booking`` row holds
  the meeting; a lead before the booking stage (new, contacted, nurture, no_show, lost) moves to
  ``session_booked``. A lead already booked, held or a client keeps its stage.
- **rescheduled** — the booking moves (new time, the provider's new uid); a lead marked no-show
  who rebooks goes back to ``session_booked`` (which stops the rebooking email).
- **cancelled** — the booking is cancelled; a lead at ``session_booked`` with no other booking
  left goes back to the stage it had before booking (new / contacted / nurture: where the pipeline
  keeps a requested session; ``contacted`` otherwise — they were in touch, they booked), and its
  owner gets a task to follow up within ``CANCELLED_FOLLOW_UP_MINUTES`` of working time. The sales
  sequences stay stopped (a stopped sequence is never restarted automatically): a cancellation is
  a person to call, not a nurture to resume. Half of a Calendly reschedule (``rescheduling``)
  changes nothing but the booking's status.
- **no_show** — the lead moves to ``no_show`` (unless a client, lost or already there): the
  ``no_show`` sequence starts. Whether its email may go out (unsubscribed, bounced…) is decided by
  the sequence's stop rules, at planning and again at send time.
- **no_show_undone** — a lead still at ``no_show`` goes back to ``session_held`` when the meeting
  is over, else ``session_booked``.

Every change is on the timeline with the meeting time (the lead page shows it in the coach's zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.leads import events, triage
from coachapp.leads.booking_events import BookingEvent
from coachapp.leads.services import Contact, add_event, normalize_email, upsert_lead
from coachapp.leads.worktime import add_working_minutes
from coachapp.models import Booking, Coach, CoachTask, Lead, WebhookEvent
from coachapp.textclean import clean_mapping, clean_name

#: A booking moves a lead at one of these stages to ``session_booked``.
BOOK_FROM = ("new", "contacted", "nurture", "no_show", "lost")
#: A no-show is recorded on a lead at one of these stages (not a client, not lost).
NO_SHOW_FROM = ("new", "contacted", "session_booked", "session_held", "nurture")
#: A cancelled booking returns the lead to the stage it had before, when it was one of these.
RETURN_TO = ("new", "contacted", "nurture")
#: Working minutes the owner has to follow up a cancelled booking (half a working day).
CANCELLED_FOLLOW_UP_MINUTES = 240


@dataclass(frozen=True)
class Applied:
    """What the event did: ``duplicate`` (seen before: nothing changed), ``unknown_booking``
    (nothing to match it to) or the kind applied; ``unchanged`` when it changed no stage."""

    outcome: str
    lead_id: int | None = None


def apply(rules: Rules, event: BookingEvent, now: datetime) -> Applied:
    record = _record(event, now)
    if record is None:
        return Applied("duplicate")
    booking = _booking(event)
    lead, created = _lead(rules, event, booking, now)
    if lead is None:
        record.outcome = "unknown_booking"
        return Applied(record.outcome)
    if created:  # a lead first seen through a booking: its subscribers hear of it (webhooks out)
        events.emit(events.LeadChanged(rules, lead, now, created=True))
    outcome = _HANDLERS[event.kind](rules, event, lead, booking, now)
    record.lead_id, record.outcome = lead.id, outcome
    return Applied(outcome, lead.id)


def _record(event: BookingEvent, now: datetime) -> WebhookEvent | None:
    """Store the event once; None when it was stored before (a retry, a replay, a twin)."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(WebhookEvent)
            .values(provider=event.provider, event_id=event.event_id, kind=event.kind, received_at=now,
                    outcome="received")
            .on_conflict_do_nothing(index_elements=["provider", "event_id"]).returning(WebhookEvent))
    return db.session.scalars(stmt).one_or_none()


def _booking(event: BookingEvent) -> Booking | None:
    """The booking this event is about. On PostgreSQL the row is locked: two events about one
    booking (Calendly's two halves of a reschedule, arriving together) apply one after the other,
    the second reading what the first committed (its uid may have moved on)."""
    uids = [u for u in (event.uid, event.previous_uid) if u]
    query = (select(Booking).where(Booking.provider == event.provider, Booking.uid.in_(uids))
             .order_by(Booking.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def _zone(name: str | None) -> str | None:
    """An IANA zone the follow-up planner can use, or None (never a zone it would choke on)."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None
    return name


def _lead(rules: Rules, event: BookingEvent, booking: Booking | None, now: datetime) -> tuple[Lead | None, bool]:
    """The lead the event is about, and whether it was created just now."""
    if booking is not None:
        return db.session.get(Lead, booking.lead_id), False
    if not event.email:
        return None, False
    if event.kind not in ("created", "rescheduled"):  # about a booking we never saw: match, never create
        key, _ = normalize_email(event.email)  # (nor bring back a lead erased on request)
        return db.session.execute(select(Lead).where(Lead.email == key)).scalar_one_or_none(), False
    first, _, last = (event.name or "").partition(" ")
    contact = Contact(first_name=first, email=event.email, consent_health=False, consent_marketing=None,
                      time_zone=_zone(event.time_zone), last_name=clean_name(last) or None)
    touch = {"utm_source": event.label, **{k: v for k, v in event.utm.items() if k != "utm_source"}}
    lead, created = upsert_lead(contact, touch, now)
    if lead.owner_id is None:
        triage.ensure_owner(rules, lead, [], None, now)
    return lead, created


def _when(start: datetime | None, end: datetime | None) -> str:
    """ISO times: the timeline shows them in the coach's zone (``dashboard.timeline.plain``)."""
    if start is None:
        return "an unknown time"
    text = start.isoformat(timespec="minutes")
    return f"{text} – {end.isoformat(timespec='minutes')}" if end is not None else text


def _data(event: BookingEvent, booking: Booking | None) -> dict[str, object]:
    data: dict[str, object] = {"provider": event.provider, "uid": event.uid, "event_id": event.event_id}
    if booking is not None and booking.start_at is not None:
        data["start"] = booking.start_at.isoformat(timespec="minutes")
        data["end"] = booking.end_at.isoformat(timespec="minutes") if booking.end_at else None
    return clean_mapping({**data, **dict(event.utm)})  # signed, but never a control character stored


def _move(rules: Rules, lead: Lead, stage: str, event: BookingEvent, now: datetime) -> None:
    triage.change_stage(rules, lead, stage, now, by=event.label)


def _created(rules: Rules, event: BookingEvent, lead: Lead, booking: Booking | None, now: datetime) -> str:
    if booking is None:
        booking = Booking(lead_id=lead.id, provider=event.provider, uid=event.uid, stage_before=lead.stage,
                          created_at=now, updated_at=now)
        db.session.add(booking)
    booking.start_at, booking.end_at, booking.status = event.start, event.end, "booked"
    booking.time_zone = _zone(event.time_zone) or booking.time_zone
    add_event(lead.id, "booking", f"Session booked via {event.label} for {_when(event.start, event.end)}",
              now, **_data(event, booking))
    if lead.stage in BOOK_FROM:
        _move(rules, lead, "session_booked", event, now)
        return "booked"
    return "unchanged"


def _rescheduled(rules: Rules, event: BookingEvent, lead: Lead, booking: Booking | None, now: datetime) -> str:
    if booking is None:  # the booking itself never reached us: take this as the booking
        return _created(rules, event, lead, None, now)
    before = _when(booking.start_at, booking.end_at)
    booking.uid, booking.start_at, booking.end_at, booking.status = event.uid, event.start, event.end, "booked"
    booking.time_zone = _zone(event.time_zone) or booking.time_zone
    add_event(lead.id, "booking", f"Session moved via {event.label} from {before} to "
              f"{_when(event.start, event.end)}", now, **_data(event, booking), previous_uid=event.previous_uid)
    if lead.stage in BOOK_FROM:
        _move(rules, lead, "session_booked", event, now)
    return "rescheduled"


def _cancelled(rules: Rules, event: BookingEvent, lead: Lead, booking: Booking | None, now: datetime) -> str:
    if event.rescheduling:  # Calendly: the old half of a reschedule; the new invitee moves the booking
        if booking is not None and booking.uid == event.uid and booking.status == "booked":
            booking.status = "rescheduling"
        return "unchanged"
    when = _when(booking.start_at, booking.end_at) if booking is not None else "a session"
    if booking is not None:
        booking.status = "cancelled"
    add_event(lead.id, "booking", f"Booking cancelled via {event.label}: {when}", now, **_data(event, booking))
    return "cancelled" if after_cancellation(rules, lead, booking, when, now, by=event.label) else "unchanged"


def after_cancellation(rules: Rules, lead: Lead, booking: Booking | None, when: str, now: datetime,
                       by: str) -> bool:
    """A lead at ``session_booked`` with no other booking left goes back to the stage it had
    before booking, and its owner gets a follow-up task (also used by in-app cancellations)."""
    if lead.stage != "session_booked" or _other_bookings(lead, booking):
        return False
    before = booking.stage_before if booking is not None else None
    triage.change_stage(rules, lead, before if before in RETURN_TO else "contacted", now, by=by)
    _follow_up_task(rules, lead, when, now)
    return True


def _other_bookings(lead: Lead, booking: Booking | None) -> bool:
    query = select(Booking.id).where(Booking.lead_id == lead.id,
                                     or_(Booking.status == "booked", Booking.status == "rescheduling"))
    if booking is not None:
        query = query.where(Booking.id != booking.id)
    return db.session.execute(query.limit(1)).first() is not None


def _follow_up_task(rules: Rules, lead: Lead, when: str, now: datetime) -> None:
    coach = db.session.get(Coach, lead.owner_id) if lead.owner_id else None
    due = add_working_minutes(triage.working_hours_for(rules, coach), start=now, minutes=CANCELLED_FOLLOW_UP_MINUTES)
    name = " ".join(filter(None, [lead.first_name, lead.last_name])) or lead.email_display
    task = CoachTask(lead_id=lead.id, coach_id=coach.id if coach else None, kind="booking_cancelled",
                     title=f"Booking cancelled: follow up with {name}"[:200], detail=f"The session was {when}.",
                     due_at=due, status="open", created_at=now)
    db.session.add(task)
    db.session.flush()
    add_event(lead.id, "task", f"Task for {coach.name if coach else 'the team'}: {task.title}", now,
              task_id=task.id, due=due.isoformat(timespec="minutes"))


def _no_show(rules: Rules, event: BookingEvent, lead: Lead, booking: Booking | None, now: datetime) -> str:
    when = _when(booking.start_at, booking.end_at) if booking is not None else "the booked session"
    if booking is not None:
        booking.status = "no_show"
    add_event(lead.id, "booking", f"Marked as a no-show in {event.label}: {when}", now, **_data(event, booking))
    if lead.stage not in NO_SHOW_FROM:
        return "unchanged"
    _move(rules, lead, "no_show", event, now)  # starts the no_show sequence, as the dashboard's move does
    return "no_show"


def _no_show_undone(rules: Rules, event: BookingEvent, lead: Lead, booking: Booking | None, now: datetime) -> str:
    if booking is not None and booking.status == "no_show":
        booking.status = "booked"
    add_event(lead.id, "booking", f"No-show mark removed in {event.label}", now, **_data(event, booking))
    if lead.stage != "no_show":
        return "unchanged"
    over = booking is not None and booking.end_at is not None and booking.end_at <= now
    _move(rules, lead, "session_held" if over else "session_booked", event, now)
    return "no_show_undone"


_HANDLERS = {"created": _created, "rescheduled": _rescheduled, "cancelled": _cancelled, "no_show": _no_show,
             "no_show_undone": _no_show_undone}
