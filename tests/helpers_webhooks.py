"""Booking webhook bodies as Cal.com and Calendly send them, signed, and posted through the client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from coachapp.leads.booking_events import sign_calcom, sign_calendly

CALCOM_SECRET = "calcom-test-secret-8f3a"
CALENDLY_KEY = "calendly-test-signing-key-51c0"
START = datetime(2031, 3, 4, 16, 0, tzinfo=UTC)  # well in the future: a session still to come


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def calcom_body(trigger: str = "BOOKING_CREATED", uid: str = "bk_7Yq2", email: str = "Dana.Runner@Example.com",
                start: datetime = START, created_at: datetime | None = None, **extra: Any) -> bytes:
    payload: dict[str, Any] = {
        "type": "strategy-session", "title": "Free Strategy Session", "uid": uid, "bookingId": 101,
        "startTime": iso(start), "endTime": iso(start + timedelta(minutes=30)), "status": "ACCEPTED",
        "organizer": {"name": "Sam Coach", "email": "sam@motive.example", "timeZone": "America/Chicago"},
        "attendees": [{"name": "Dana Runner", "email": email, "timeZone": "Europe/London",
                       "language": {"locale": "en"}}],
        "metadata": {"utm_source": "newsletter", "utm_campaign": "spring"},
        **extra,
    }
    if trigger == "BOOKING_NO_SHOW_UPDATED":
        payload = {"message": "x_marked_as_no_show", "bookingUid": uid, "bookingId": 101,
                   "attendees": [{"email": email, "noShow": extra.get("noShow", True)}]}
    created = iso(created_at or datetime.now(UTC))
    return json.dumps({"triggerEvent": trigger, "createdAt": created, "payload": payload}).encode()


def calendly_body(event: str = "invitee.created", uri: str = "https://api.calendly.com/scheduled_events/EV1/invitees/IN1",
                  email: str = "dana.runner@example.com", start: datetime = START, created_at: str | None = None,
                  **extra: Any) -> bytes:
    payload: dict[str, Any] = {
        "uri": uri, "email": email, "name": "Dana Runner", "first_name": None, "last_name": None,
        "status": "canceled" if event == "invitee.canceled" else "active", "timezone": "America/New_York",
        "rescheduled": False, "old_invitee": None, "new_invitee": None,
        "scheduled_event": {"uri": "https://api.calendly.com/scheduled_events/EV1", "name": "Strategy session",
                            "start_time": iso(start), "end_time": iso(start + timedelta(minutes=30))},
        "tracking": {"utm_source": "instagram", "utm_medium": "social", "utm_campaign": None},
        "questions_and_answers": [],
        **extra,
    }
    if event.startswith("invitee_no_show"):
        payload["no_show"] = {"uri": "https://api.calendly.com/invitee_no_shows/NS1", "created_at": iso(START)}
    return json.dumps({"event": event, "created_at": created_at or iso(datetime.now(UTC)),
                       "created_by": "https://api.calendly.com/users/U1", "payload": payload}).encode()


def post_calcom(client, body: bytes, secret: str = CALCOM_SECRET, signature: str | None = None):
    headers = {"X-Cal-Signature-256": signature if signature is not None else sign_calcom(body, secret)}
    return client.post("/webhooks/calcom", data=body, headers=headers, content_type="application/json")


def post_calendly(client, body: bytes, key: str = CALENDLY_KEY, at: datetime | None = None,
                  signature: str | None = None):
    stamp = int((at or datetime.now(UTC)).timestamp())
    headers = {"Calendly-Webhook-Signature": signature if signature is not None else sign_calendly(body, key, stamp)}
    return client.post("/webhooks/calendly", data=body, headers=headers, content_type="application/json")


def configure(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CALCOM_WEBHOOK_SECRET", CALCOM_SECRET)
    monkeypatch.setitem(app.config, "CALENDLY_WEBHOOK_SIGNING_KEY", CALENDLY_KEY)
