"""Booking webhooks in: ``POST /webhooks/calcom`` and ``POST /webhooks/calendly``.

Thin: the raw body and the signature header go to the pure ``leads.booking_events`` (verify, then
parse), the event to ``leads.bookings.apply`` (one transaction), and the view commits. The
blueprint is CSRF-exempt (a provider has no session; the signature is the authentication) and
``hygiene`` leaves its body alone, so the HMAC is computed over the bytes exactly as they arrived.

Answers (JSON): 200 ``{"status": <outcome>, "lead_id"}`` for an applied event, 200
``{"status": "duplicate"}`` for one seen before, 200 ``{"status": "ignored"}`` for an event type
we do not act on (a 2xx, so the provider neither retries nor disables the subscription);
401 for a missing, wrong or stale signature (nothing stored); 400 for a body that is signed but
not a booking event; 503 while the provider's secret is not configured (a 5xx, so the provider
retries — Calendly for a day — instead of losing the bookings; a 404 would look like a wrong URL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from coachapp.emails import outbox
from coachapp.extensions import db, limiter
from coachapp.leads import bookings
from coachapp.leads.booking_events import Received, WebhookRejected, read_calcom, read_calendly
from coachapp.leads.services import InvalidEmail
from coachapp.models import utcnow
from coachapp.rules_store import get_rules

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: Per address, like the API; a provider delivers a handful a minute at most.
RATE = "120/minute;2000/hour"

Reader = Callable[[bytes, str], Received]


@bp.post("/calcom")
@limiter.limit(RATE)
def calcom() -> tuple[Response, int]:
    config = current_app.config
    return _receive("calcom", "CALCOM_WEBHOOK_SECRET", lambda body, secret: read_calcom(
        body, request.headers.get("X-Cal-Signature-256"), secret, utcnow(), config["CALCOM_WEBHOOK_MAX_AGE"]))


@bp.post("/calendly")
@limiter.limit(RATE)
def calendly() -> tuple[Response, int]:
    config = current_app.config
    return _receive("calendly", "CALENDLY_WEBHOOK_SIGNING_KEY", lambda body, key: read_calendly(
        body, request.headers.get("Calendly-Webhook-Signature"), key, utcnow(), config["CALENDLY_WEBHOOK_TOLERANCE"]))


def _receive(provider: str, setting: str, read: Reader) -> tuple[Response, int]:
    body = request.get_data(cache=True)  # the raw bytes, before anything parses them
    secret = current_app.config.get(setting)
    if not secret:
        logger.warning("Webhook from %s refused: %s is not set", provider, setting)
        return _error(503, "not_configured", f"{setting} is not configured on this server.")
    try:
        received = read(body, secret)
    except WebhookRejected as exc:
        logger.warning("Webhook from %s refused (%s): %s", provider, exc.code, exc)
        return _error(exc.status, exc.code, str(exc))
    if received.event is None:
        logger.info("Webhook from %s ignored: %s", provider, received.trigger)
        return jsonify(status="ignored", event=received.trigger), 200
    event = received.event
    try:
        applied = bookings.apply(get_rules(), event, utcnow())
    except InvalidEmail:
        db.session.rollback()
        return _error(400, "malformed_event", "The attendee's email address is not valid.")
    outbox.commit()
    logger.info("Webhook from %s: %s → %s (lead %s)", provider, received.trigger, applied.outcome, applied.lead_id)
    return jsonify(status=applied.outcome, lead_id=applied.lead_id), 200


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error=code, message=message), status
