"""Absolute links for emails, built the same way in a request or in a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer


def external_url(endpoint: str, **values: Any) -> str:
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


#: Its own salt: a feed URL lives on in calendar services and shared calendars, so it must not
#: also be an unsubscribe link (coachapp.unsubscribe), nor the other way round.
CALENDAR_SALT = "coachapp.calendar"


@dataclass(frozen=True)
class SubscribeUrls:
    https: str  # paste into "Add calendar from URL" (Google, Outlook)
    webcal: str  # one click opens the calendar app's subscribe dialog (Apple, Outlook)


def signing_keys() -> list[str]:
    """Old keys first, the current one last: itsdangerous signs with the last and accepts any,
    so a rotated SECRET_KEY (the old one in SECRET_KEY_FALLBACKS) keeps links in sent emails
    and subscribed calendars working, as Flask does for sessions."""
    return [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), current_app.config["SECRET_KEY"]]


def calendar_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(), salt=CALENDAR_SALT)


def calendar_token(lead_id: int) -> str:
    return calendar_serializer().dumps({"lead": lead_id})


def plan_download_url(token: str) -> str:
    """Absolute link to the ``.ics`` of one assessment (works in a request or a worker)."""
    return external_url("public.plan_ics", token=token)


def subscribe_urls(lead_id: int) -> SubscribeUrls:
    """The lead's feed, as https and as webcal (works in a request or a worker)."""
    https = external_url("public.plan_feed", signed=calendar_token(lead_id))
    return SubscribeUrls(https=https, webcal="webcal://" + https.split("://", 1)[1])


UNSUBSCRIBE_SALT = "coachapp.unsubscribe"


def unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(), salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(lead_id: int) -> str:
    """The signed part of a lead's unsubscribe link (built here so the sequences that put it in
    every marketing email need nothing from the web layer)."""
    return unsubscribe_serializer().dumps({"lead": lead_id})


#: Its own salt: a reschedule/cancel link is neither an unsubscribe link nor a calendar feed.
BOOKING_SALT = "coachapp.booking"


def booking_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(), salt=BOOKING_SALT)


def booking_token(booking_id: int, until: datetime) -> str:
    """Signed ``{"booking": id, "until": unix seconds}``: good until the session ends."""
    return booking_serializer().dumps({"booking": booking_id, "until": int(until.timestamp())})


@dataclass(frozen=True)
class BookingUrls:
    manage: str  # the confirmation page: the time, and the two links below
    reschedule: str
    cancel: str


def booking_urls(booking_id: int, until: datetime) -> BookingUrls:
    signed = booking_token(booking_id, until)
    return BookingUrls(manage=external_url("public.session_booked", signed=signed),
                       reschedule=external_url("public.session_reschedule", signed=signed),
                       cancel=external_url("public.session_cancel", signed=signed))


#: Its own salt: a retake link identifies a lead to start a new assessment with their stable
#: answers; it is no unsubscribe, calendar or booking link (and none of those is one).
RETAKE_SALT = "coachapp.retake"
#: How long a retake link in an email works (the invitation goes out six weeks after the
#: assessment; a year leaves room for a late retake). After it, the page says how to start afresh.
RETAKE_MAX_AGE = 365 * 24 * 3600


def retake_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(), salt=RETAKE_SALT)


def retake_token(lead_id: int) -> str:
    return retake_serializer().dumps({"lead": lead_id})


def retake_lead_id(signed: str, max_age: int | None = None) -> int:
    """The lead a retake link names. Raises ``SignatureExpired`` (too old) or ``BadSignature``."""
    data = retake_serializer().loads(signed, max_age=RETAKE_MAX_AGE if max_age is None else max_age)
    if not isinstance(data, dict) or not isinstance(data.get("lead"), int):
        raise BadSignature("not a retake link")
    return data["lead"]


def retake_url(lead_id: int) -> str:
    """Absolute retake link for emails (works in a request or a worker)."""
    return external_url("public.retake", signed=retake_token(lead_id))
