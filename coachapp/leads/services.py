"""Upsert leads by normalised email, record consent and timeline events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from coachapp.extensions import db
from coachapp.models import Lead, LeadEvent
from coachapp.textclean import clean_line, clean_name

#: Bump when the consent wording on the forms changes.
CONSENT_TEXT_VERSION = "2026-11-v1"

FIRST_TOUCH_FIELDS = ("utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page")


class InvalidEmail(ValueError):
    pass


@dataclass(frozen=True)
class Contact:
    first_name: str
    email: str
    consent_health: bool
    consent_marketing: bool | None  # None: not asked (a booking webhook): the stored choice stands
    time_zone: str | None = None  # IANA name; emails are timed to the person's daytime
    last_name: str | None = None
    phone: str | None = None  # E.164


def normalize_email(raw: str) -> tuple[str, str]:
    """Return ``(key, display)``: the lookup key is the whole address lower-cased."""
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    return info.normalized.lower(), info.normalized


def can_see(coach: Any, lead: Lead) -> bool:
    """The owner sees every lead; a coach sees their own and unassigned ones."""
    return bool(coach.is_owner) or lead.owner_id in (None, coach.id)


HELD_EVENTS = "coachapp.held_events"


def add_event(lead_id: int, kind: str, summary: str, now: datetime, **data: Any) -> None:
    event = LeadEvent(lead_id=lead_id, kind=kind, summary=summary, data=data, created_at=now)
    held = db.session.info.get(HELD_EVENTS)
    if held is not None:
        held.append(event)
    else:
        db.session.add(event)


@contextmanager
def events_held() -> Iterator[None]:
    """Timeline events added inside go into the session on the way out, so a flush inside (for
    one new row's id) writes that row alone and every event of the transaction still goes in
    the commit's one batched INSERT."""
    outer = db.session.info.get(HELD_EVENTS)
    held: list[LeadEvent] = [] if outer is None else outer
    db.session.info[HELD_EVENTS] = held
    try:
        yield
    finally:
        if outer is None:
            del db.session.info[HELD_EVENTS]
            db.session.add_all(held)


def upsert_lead(contact: Contact, first_touch: dict[str, Any], now: datetime,
                known: Lead | None = None, prepare: Callable[[Lead], None] | None = None) -> tuple[Lead, bool]:
    """Find the lead by email or create it. Returns ``(lead, created)``; flushes only.

    A new lead is one ``INSERT … ON CONFLICT (email) DO NOTHING RETURNING`` with everything it
    starts with (no look-up first, no savepoint, no update after); only when that inserts nothing
    — a returning runner, or the same person submitting twice at once — is the lead read.
    ``known``: the lead the caller already holds (a form from its assessment), used when the
    email is its own. ``prepare``: called with the draft just before the INSERT, to add what a new
    lead starts with (its tier and owner), so no UPDATE follows; the caller learns from
    ``created`` whether it was used.
    """
    key, display = normalize_email(contact.email)
    if known is not None and known.email == key:
        return _update(known, contact, now), False
    draft = Lead(email=key, email_display=display, created_at=now, updated_at=now)
    _apply_first_touch(draft, first_touch, now)
    _apply_contact(draft, contact)
    consent_events = _apply_consent(draft, contact, now)
    if prepare is not None:
        prepare(draft)
    lead = _insert(draft)
    if lead is not None:
        add_event(lead.id, "lead_created", f"New lead from {lead.source}", now)
        for summary, data in consent_events:
            add_event(lead.id, "consent", summary, now, **data)
        return lead, True
    return _update(_by_email(key), contact, now), False


def _update(lead: Lead, contact: Contact, now: datetime) -> Lead:
    _apply_contact(lead, contact)
    for summary, data in _apply_consent(lead, contact, now):
        add_event(lead.id, "consent", summary, now, **data)
    return lead


def _insert(draft: Lead) -> Lead | None:
    """Insert the draft unless its email exists; the new row (ids and defaults filled), or None."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {column.key: getattr(draft, column.key) for column in Lead.__table__.columns
              if column.key != "id" and getattr(draft, column.key) is not None}
    stmt = insert(Lead).values(**values).on_conflict_do_nothing(index_elements=["email"]).returning(Lead)
    return db.session.scalars(stmt).one_or_none()


def _apply_contact(lead: Lead, contact: Contact) -> None:
    first_name = clean_name(contact.first_name)  # no control characters, ever (the edge strips them too)
    if first_name:
        lead.first_name = first_name
    if contact.time_zone:
        lead.time_zone = contact.time_zone
    lead.last_name = contact.last_name or lead.last_name
    lead.phone = contact.phone or lead.phone


def _by_email(key: str) -> Lead | None:
    return db.session.execute(select(Lead).where(Lead.email == key)).scalar_one_or_none()


def _apply_first_touch(lead: Lead, touch: dict[str, Any], now: datetime) -> None:
    """Copy the first touch onto a new lead. A submission stored before input hygiene may
    carry control characters (a NUL from ``?utm_source=%00``): they are dropped here, so that
    submission can still be completed."""
    lead.source = clean_line(touch.get("utm_source") or touch.get("referrer_host") or "", 120) or "direct"
    for field in FIRST_TOUCH_FIELDS:
        value = clean_line(touch.get(field), 500)
        setattr(lead, field, value if isinstance(value, str) else None)
    lead.first_touch_at = _touch_time(touch.get("at")) or now


def _touch_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _apply_consent(lead: Lead, contact: Contact, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The latest explicit choice wins, and every change is on the timeline: returns the
    timeline entries (summary, data) for the caller to add once the lead has its id."""
    notes: list[tuple[str, dict[str, Any]]] = []
    if contact.consent_health and lead.consent_health_at is None:
        lead.consent_health_at = now
        lead.consent_text_version = CONSENT_TEXT_VERSION
        notes.append(("Consented to health data use for their plan",
                      {"scope": "health", "version": CONSENT_TEXT_VERSION}))
    if contact.consent_marketing and lead.consent_marketing_at is None:
        lead.consent_marketing_at = now
        notes.append(("Opted in to coaching emails", {"scope": "marketing", "version": CONSENT_TEXT_VERSION}))
    elif contact.consent_marketing is False and lead.consent_marketing_at is not None:
        lead.consent_marketing_at = None
        notes.append(("Opted out of coaching emails", {"scope": "marketing"}))
    return notes
