"""The send side: claim a delivery with a lease, POST it signed, record the outcome.

2xx: sent. 5xx, 408, 429, a timeout or a connection error: queued again after 1, 5, 30 min,
2 h, 12 h (``signing.BACKOFF_MINUTES``), then failed. Any other answer (a 3xx: redirects are
never followed; a 4xx) fails at once, as does a URL the transport refuses (not http(s), or a
host resolving to a non-public address without ``WEBHOOKS_ALLOW_PRIVATE``) and an endpoint
deactivated since the row was queued.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, update

from coachapp.extensions import db
from coachapp.models import WebhookDelivery, WebhookEndpoint, utcnow
from coachapp.webhooks_out import signing, transport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Job:
    id: int
    token: int  # ``attempts`` after the claim: whose claim this is
    failures_before: int  # failed attempts since the row was queued or replayed
    url: str
    secret: str
    active: bool
    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent" | "retry" | "failed"
    code: int | None = None
    error: str | None = None


def _claim(delivery_id: int, now: datetime) -> _Job | None:
    lease = timedelta(seconds=current_app.config["WEBHOOKS_CLAIM_LEASE"])
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               or_(and_(WebhookDelivery.status == "queued", WebhookDelivery.next_attempt_at <= now),
                   and_(WebhookDelivery.status == "sending", WebhookDelivery.claimed_until < now)))
        .values(status="sending", claimed_until=now + lease, attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    row = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id)
    job = _Job(id=row.id, token=row.attempts, failures_before=row.attempts - row.attempt_base - 1,
               url=endpoint.url, secret=endpoint.secret, active=endpoint.active, message_id=row.message_id,
               payload=row.payload)
    db.session.commit()  # the claim and what was read with it, or neither
    return job


def deliver(delivery_id: int, now: datetime | None = None) -> str:
    """Send one delivery if it is due and unclaimed; returns the new status (or "skipped")."""
    now = now or utcnow()
    job = _claim(delivery_id, now)
    if job is None:
        return "skipped"
    outcome = attempt(job) if job.active else Outcome("failed", error="The endpoint was deactivated.")
    return _record(job, outcome, now)


def attempt(job: _Job) -> Outcome:
    config = current_app.config
    body = signing.body(job.payload)
    headers = signing.headers(job.secret, job.message_id, int(time.time()), body)
    try:
        answer = transport.post(job.url, body, headers, connect_timeout=config["WEBHOOKS_CONNECT_TIMEOUT"],
                                read_timeout=config["WEBHOOKS_READ_TIMEOUT"], deadline=config["WEBHOOKS_DEADLINE"],
                                allow_private=config["WEBHOOKS_ALLOW_PRIVATE"])
    except transport.Refused as exc:
        return Outcome("failed", error=f"Refused: {exc}")
    except transport.TransportError as exc:
        return Outcome("retry", error=str(exc))
    verdict = signing.classify(answer.status)
    if 300 <= answer.status < 400:
        error = f"Redirect to {answer.location or '?'} not followed"[:500]
    else:
        error = None if verdict == "sent" else (answer.body.strip()[:500] or f"HTTP {answer.status}")
    return Outcome(verdict, answer.status, error)


def _record(job: _Job, outcome: Outcome, now: datetime) -> str:
    values: dict[str, Any] = {"last_status_code": outcome.code, "last_error": outcome.error,
                              "last_attempt_at": now, "claimed_until": None}
    status = outcome.status
    if status == "retry":
        delay = signing.retry_delay_minutes(job.failures_before + 1)
        if delay is None:
            status = "failed"
        else:
            status = "queued"
            values.update(next_attempt_at=now + timedelta(minutes=delay), enqueued_at=None)
    if status == "sent":
        values["sent_at"] = now
    values["status"] = status
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.id, WebhookDelivery.attempts == job.token,
               WebhookDelivery.status == "sending")
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:  # the lease ran out and someone else claimed it: theirs to record
        logger.warning("Webhook delivery %s: claim %s lost before recording %s", job.id, job.token, status)
        return "lost"
    log = logger.info if status in ("sent", "queued") else logger.warning
    log("Webhook delivery %s: %s (HTTP %s) %s", job.id, status, outcome.code, outcome.error or "")
    return status
