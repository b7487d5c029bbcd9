"""Booking webhooks from Cal.com and Calendly: verify the request, read it into one event.

Pure: no Flask, database or clock (``now`` is passed in). The web layer hands over the raw body
bytes exactly as received and the signature header; this module

1. verifies the signature over those bytes (HMAC-SHA256, compared in constant time) *before*
   anything in the body is parsed or trusted;
2. checks the request is fresh;
3. parses the JSON into a :class:`BookingEvent` (or ``None`` for an event type we do not act on).

**Cal.com** signs the raw body with the webhook's secret: ``X-Cal-Signature-256: <hex>``. It sends
no timestamp header, so freshness comes from the body's own ``createdAt`` (inside the signed bytes,
so it cannot be altered): older than ``max_age`` (default 1 h) or more than ``FUTURE_SKEW`` ahead →
stale. The window is wider than Calendly's because ``createdAt`` is when Cal.com built the event,
not when this request was sent (a queued or retried delivery keeps it), and it is the only clock
there is. Within the window a replay is refused by the stored event id (``leads.bookings``). A body
without ``createdAt`` (older Cal.com versions) relies on the event id alone.

**Calendly** signs ``"<t>.<raw body>"`` with the signing key:
``Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>``. ``t`` is the time of this delivery
attempt, so the window is narrow (``tolerance``, default 3 min, either direction): a captured
request cannot be replayed later, and each retry is signed afresh.

Event ids (what makes a retry a duplicate): Cal.com has no delivery id; a booking's ``uid`` is
created, rescheduled (the new booking gets a new uid) and cancelled once each, so
``<trigger>:<uid>`` names the event; no-show marks can be set and unset repeatedly, so theirs adds
the mark and ``createdAt``. Calendly: ``<event>:<invitee uri>`` (an invitee is created and
cancelled once); no-show events add the envelope's ``created_at``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PROVIDERS = {"calcom": "Cal.com", "calendly": "Calendly"}
KINDS = ("created", "rescheduled", "cancelled", "no_show", "no_show_undone")
CALCOM_MAX_AGE = 3600.0  # seconds; see the module docstring
CALENDLY_TOLERANCE = 180.0  # seconds, either direction (Calendly's own guidance: a few minutes)
FUTURE_SKEW = 300.0  # a Cal.com createdAt this far ahead of our clock is still accepted
MAX_ID = 200  # longer event ids are stored as their SHA-256
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

CALCOM_KINDS = {"BOOKING_CREATED": "created", "BOOKING_RESCHEDULED": "rescheduled",
                "BOOKING_CANCELLED": "cancelled", "BOOKING_NO_SHOW_UPDATED": "no_show"}
CALENDLY_KINDS = {"invitee.created": "created", "invitee.canceled": "cancelled",
                  "invitee_no_show.created": "no_show", "invitee_no_show.deleted": "no_show_undone"}


class WebhookRejected(Exception):
    """Refused: ``status`` is the HTTP status, ``code`` the JSON error slug."""

    status = 400
    code = "bad_request"


class BadSignature(WebhookRejected):
    status, code = 401, "bad_signature"


class StaleRequest(WebhookRejected):
    status, code = 401, "stale_request"


class MalformedEvent(WebhookRejected):
    status, code = 400, "malformed_event"


@dataclass(frozen=True)
class BookingEvent:
    """One booking change, the same shape from either provider. Times are aware UTC."""

    provider: str  # calcom | calendly
    event_id: str
    kind: str  # one of KINDS
    uid: str  # the provider's booking (Cal.com) or invitee (Calendly) id
    email: str | None = None
    name: str | None = None
    time_zone: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    previous_uid: str | None = None  # a reschedule: the booking it replaces
    rescheduling: bool = False  # a cancellation that is half of a reschedule (Calendly)
    utm: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return PROVIDERS[self.provider]


@dataclass(frozen=True)
class Received:
    """A verified request: its trigger name, and the event (None: a type we do not act on)."""

    trigger: str
    event: BookingEvent | None


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii", "replace"))


def sign_calcom(body: bytes, secret: str) -> str:
    """The ``X-Cal-Signature-256`` value for ``body`` (tests and tooling)."""
    return _digest(secret, body)


def sign_calendly(body: bytes, key: str, timestamp: int) -> str:
    """The ``Calendly-Webhook-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(key, str(timestamp).encode('ascii') + b'.' + body)}"


def read_calcom(body: bytes, signature: str | None, secret: str, now: datetime,
                max_age: float = CALCOM_MAX_AGE) -> Received:
    if not signature or not _same(_digest(secret, body), signature.removeprefix("sha256=")):
        raise BadSignature("The X-Cal-Signature-256 header does not match the body.")
    data = _json(body)
    trigger = data.get("triggerEvent")
    if not isinstance(trigger, str) or not isinstance(data.get("payload"), dict):
        raise MalformedEvent("Expected {\"triggerEvent\": …, \"payload\": {…}}.")
    created_at = data.get("createdAt")
    if created_at is not None:
        sent = _time(created_at, "createdAt")
        age = (now - sent).total_seconds()
        if age > max_age or age < -FUTURE_SKEW:
            raise StaleRequest("The event's createdAt is outside the accepted window.")
    kind = CALCOM_KINDS.get(trigger)
    return Received(trigger, _calcom(kind, trigger, data["payload"], created_at) if kind else None)


def _calcom(kind: str, trigger: str, payload: dict[str, Any], created_at: Any) -> BookingEvent:
    attendees = payload.get("attendees")
    person = attendees[0] if isinstance(attendees, list) and attendees and isinstance(attendees[0], dict) else {}
    if kind == "no_show":
        uid = _text(payload.get("bookingUid") or payload.get("uid"), "payload.bookingUid")
        marked = person.get("noShow")
        if not isinstance(marked, bool):
            raise MalformedEvent("payload.attendees[0].noShow must be true or false.")
        kind = "no_show" if marked else "no_show_undone"
        event_id = f"{trigger}:{uid}:{marked}:{created_at}"
        return BookingEvent("calcom", _id(event_id), kind, uid, email=_email(person.get("email")))
    uid = _text(payload.get("uid"), "payload.uid")
    previous = payload.get("rescheduleUid") if kind == "rescheduled" else None
    return BookingEvent(
        "calcom", _id(f"{trigger}:{uid}"), kind, uid, email=_email(person.get("email")),
        name=_opt(person.get("name")), time_zone=_opt(person.get("timeZone")),
        start=_time(payload.get("startTime"), "payload.startTime"),
        end=_time(payload.get("endTime"), "payload.endTime"),
        previous_uid=previous if isinstance(previous, str) and previous else None,
        rescheduling=kind == "cancelled" and payload.get("rescheduled") is True,  # the old half, if ever sent
        utm=_utm(payload.get("metadata")),
    )


def read_calendly(body: bytes, header: str | None, key: str, now: datetime,
                  tolerance: float = CALENDLY_TOLERANCE) -> Received:
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    stamp, signatures = (parts.get("t") or [""])[0], parts.get("v1") or []
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or not signatures:  # not '²'
        raise BadSignature("The Calendly-Webhook-Signature header is missing or malformed.")
    expected = _digest(key, stamp.encode("ascii") + b"." + body)
    if not any(_same(expected, given) for given in signatures):
        raise BadSignature("The Calendly-Webhook-Signature header does not match the body.")
    if abs(now.timestamp() - int(stamp)) > tolerance:
        raise StaleRequest("The signature's timestamp is outside the accepted window.")
    data = _json(body)
    trigger = data.get("event")
    if not isinstance(trigger, str) or not isinstance(data.get("payload"), dict):
        raise MalformedEvent("Expected {\"event\": …, \"payload\": {…}}.")
    kind = CALENDLY_KINDS.get(trigger)
    return Received(trigger, _calendly(kind, trigger, data["payload"], data.get("created_at")) if kind else None)


def _calendly(kind: str, trigger: str, payload: dict[str, Any], created_at: Any) -> BookingEvent:
    if kind in ("no_show", "no_show_undone"):
        # The payload is the invitee (with its ``no_show``) or, in the API's shape, the no-show
        # itself naming its invitee by URI.
        uid = _text(payload.get("invitee") if "email" not in payload else payload.get("uri"), "payload.uri")
        return BookingEvent("calendly", _id(f"{trigger}:{uid}:{created_at}"), kind, uid,
                            email=_email(payload.get("email")) if "email" in payload else None)
    uid = _text(payload.get("uri"), "payload.uri")
    scheduled = payload.get("scheduled_event")
    if not isinstance(scheduled, dict):
        raise MalformedEvent("payload.scheduled_event must be an object.")
    name = _opt(payload.get("name")) or " ".join(
        filter(None, (_opt(payload.get("first_name")), _opt(payload.get("last_name"))))) or None
    old = payload.get("old_invitee")
    rescheduled = kind == "created" and isinstance(old, str) and bool(old)
    return BookingEvent(
        "calendly", _id(f"{trigger}:{uid}"), "rescheduled" if rescheduled else kind, uid,
        email=_email(payload.get("email")), name=name, time_zone=_opt(payload.get("timezone")),
        start=_time(scheduled.get("start_time"), "payload.scheduled_event.start_time"),
        end=_time(scheduled.get("end_time"), "payload.scheduled_event.end_time"),
        previous_uid=old if rescheduled else None,
        rescheduling=kind == "cancelled" and payload.get("rescheduled") is True,
        utm=_utm(payload.get("tracking")),
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise MalformedEvent("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise MalformedEvent("The body must be a JSON object.")
    return data


def _id(raw: str) -> str:
    return raw if len(raw) <= MAX_ID else "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise MalformedEvent(f"{where} must be a non-empty string.")
    return value.strip()


def _opt(value: Any) -> str | None:
    return value.strip()[:200] or None if isinstance(value, str) else None


def _email(value: Any) -> str:
    if not isinstance(value, str) or "@" not in value or len(value) > 254:
        raise MalformedEvent("The attendee's email is missing.")
    return value.strip()


def _time(value: Any, where: str) -> datetime:
    """An ISO 8601 time with a zone (``Z`` or an offset) → aware UTC."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MalformedEvent(f"{where} must be an ISO 8601 time with a zone.")
    return moment.astimezone(UTC)


def _utm(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {k: v.strip()[:200] for k in UTM_KEYS if isinstance(v := raw.get(k), str) and v.strip()}
