"""The write side of the webhook outbox: one delivery row per event and subscribed endpoint,
written in the business transaction; published after the commit; swept by beat; replayed.

Rows are inserted with ``INSERT … ON CONFLICT (purpose_key) DO NOTHING RETURNING id``: exactly one
per ``<event type>:<lead id>:<source>:<endpoint id>`` even across processes, and no savepoint.
A row is written with ``enqueued_at`` set; after the session commits (a SQLAlchemy
``after_commit`` listener, so every commit path publishes, whichever view or task made it) its id
is handed to the broker with the outbox's short timeouts; when that fails ``enqueued_at`` is
cleared and the sweep (every minute) publishes it. Nothing here waits on a receiver.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from coachapp.extensions import db
from coachapp.leads.events import LeadChanged
from coachapp.models import Lead, WebhookDelivery, utcnow
from coachapp.webhooks_out import endpoints
from coachapp.webhooks_out.signing import new_message_id, payload

logger = logging.getLogger(__name__)

PENDING_KEY = "coachapp.webhooks_pending"
DELIVER_TASK = "webhooks.deliver"


def lead_facts(lead: Lead) -> dict[str, Any]:
    """What every payload says about the lead (no answers, no health data)."""
    return {"lead_id": lead.id, "email": lead.email_display, "first_name": lead.first_name,
            "last_name": lead.last_name, "stage": lead.stage, "tier": lead.tier, "top_priority": lead.top_priority}


def _stamp(now: datetime) -> str:
    return str(int(now.timestamp() * 1_000_000))


def on_lead_changed(change: LeadChanged) -> None:
    """``LeadChanged`` → the events it is: created, assessment completed, session requested,
    stage changed (and session booked when that stage is ``session_booked``)."""
    lead, happened = change.lead, []
    latest = change.latest or (None, None)
    if change.created:
        happened.append(("lead.created", "new", {}))
    if change.occurred == "assessment_completed" and latest[0] is not None:
        happened.append(("assessment.completed", f"submission-{latest[0].id}", {"submission_id": latest[0].id}))
    if change.occurred == "strategy_requested" and latest[1] is not None:
        happened.append(("session.requested", f"request-{latest[1].id}", {"request_id": latest[1].id}))
    if change.occurred == "stage_changed" and change.stage_before:
        source = f"{change.stage_before}-{lead.stage}@{_stamp(change.now)}"
        happened.append(("lead.stage_changed", source, {"stage_before": change.stage_before}))
        if lead.stage == "session_booked":
            happened.append(("session.booked", source, {"stage_before": change.stage_before}))
    if happened:
        queue(lead, happened, change.now)


def lead_unsubscribed(lead: Lead, scope: str, now: datetime) -> None:
    """The explicit call for an unsubscribe (not a ``LeadChanged``): once per unsubscription
    (the key holds its time, so a second click on the same link queues nothing new)."""
    at = lead.unsubscribed_all_at if scope == "all" else lead.unsubscribed_sales_at
    queue(lead, [("lead.unsubscribed", f"{scope}@{_stamp(at or now)}", {"scope": scope})], now)


def queue(lead: Lead, happened: list[tuple[str, str, dict[str, Any]]], now: datetime) -> list[int]:
    """Write a delivery row per (event, subscribed active endpoint); flushed with the caller's
    transaction, not committed. Returns the ids of rows new in this call."""
    subscribed = endpoints.active()
    if not subscribed:
        return []
    facts = lead_facts(lead)
    rows = [
        {"endpoint_id": endpoint.id, "lead_id": lead.id, "event_type": kind,
         "purpose_key": f"{kind}:{lead.id}:{source}:{endpoint.id}"[:200], "message_id": new_message_id(),
         "payload": payload(kind, now, facts, **extra), "status": "queued", "attempts": 0, "attempt_base": 0,
         "next_attempt_at": now, "enqueued_at": now, "created_at": now}
        for kind, source, extra in happened for endpoint in subscribed if kind in endpoint.events
    ]
    if not rows:
        return []
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(WebhookDelivery).values(rows)
            .on_conflict_do_nothing(index_elements=["purpose_key"]).returning(WebhookDelivery.id))
    ids = list(db.session.execute(stmt).scalars())
    db.session.info.setdefault(PENDING_KEY, []).extend(ids)
    return ids


def listen() -> None:
    """Publish after every commit of the app's session; forget the rows of a rolled-back one."""
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)


def _after_commit(session) -> None:
    ids = session.info.pop(PENDING_KEY, None)
    if ids:
        publish(ids, in_request=True, marked=True)


def _after_rollback(session) -> None:
    session.info.pop(PENDING_KEY, None)


def publish(ids: list[int], in_request: bool = False, marked: bool = False) -> list[int]:
    """Hand rows to the broker, never raising: the outbox's ``OUTBOX_PUBLISH_TIMEOUT`` per
    broker call, no retry, and ``OUTBOX_PUBLISH_PAUSE`` after a failure for requests."""
    config = current_app.config
    state = current_app.extensions.setdefault("webhooks_publisher", {"paused_until": 0.0})
    published: list[int] = []
    if not (in_request and time.monotonic() < state["paused_until"]):
        celery = current_app.extensions["celery"]
        timeout = config["OUTBOX_PUBLISH_TIMEOUT"]
        fast = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
        try:
            with celery.connection_for_write(transport_options=fast) as connection:
                for delivery_id in ids:
                    celery.send_task(DELIVER_TASK, args=(delivery_id,), connection=connection, retry=False)
                    published.append(delivery_id)
        except Exception as exc:  # broker down or hung: the sweep publishes the rest
            state["paused_until"] = time.monotonic() + config["OUTBOX_PUBLISH_PAUSE"]
            logger.warning("Broker unavailable (%s); %d webhook deliver(ies) left for the sweep",
                           type(exc).__name__, len(ids) - len(published))
    if marked:
        _record_enqueued([i for i in ids if i not in published], None)
    else:
        _record_enqueued(published, utcnow())
    return published


def _record_enqueued(ids: list[int], at: datetime | None) -> None:
    """On its own connection: this runs after the session's commit (an ``after_commit`` hook
    may not use the session). Never raises (the sweep and the claim absorb a wrong mark)."""
    if not ids:
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(enqueued_at=at))
    except Exception:
        logger.warning("Webhook deliveries %s: enqueued_at not recorded", ids, exc_info=True)


def due_for_publishing(now: datetime, limit: int = 500) -> list[int]:
    """Due rows never published or lost by the broker, and claims whose lease ran out."""
    republish_after = timedelta(seconds=current_app.config["OUTBOX_REPUBLISH_AFTER"])
    stmt = (
        select(WebhookDelivery.id)
        .where(or_(
            and_(WebhookDelivery.status == "queued", WebhookDelivery.next_attempt_at <= now,
                 or_(WebhookDelivery.enqueued_at.is_(None), WebhookDelivery.enqueued_at < now - republish_after)),
            and_(WebhookDelivery.status == "sending", WebhookDelivery.claimed_until < now),
        ))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


def sweep(now: datetime | None = None) -> list[int]:
    """Publish every due row; run by beat every minute."""
    ids = due_for_publishing(now or utcnow())
    db.session.commit()  # end the read: the publish records on its own connection
    return publish(ids) if ids else []


def replay(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send a finished delivery (sent or failed) again as a new attempt of the same row: the
    same ``webhook-id`` and payload (it is the same event; Standard Webhooks receivers may
    de-duplicate on the id), a fresh timestamp and signature, and a fresh retry budget. The log
    keeps one row per event and endpoint, its ``attempts`` counting every try."""
    if delivery.status not in ("sent", "failed"):
        raise ValueError("Only a sent or failed delivery can be replayed.")
    delivery.status, delivery.next_attempt_at, delivery.enqueued_at = "queued", now, now
    delivery.attempt_base = delivery.attempts
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append(delivery.id)
    return delivery
