"""The outbox service: queue in the business transaction, publish after commit,
claim atomically, send once, retry with backoff, sweep what the broker lost.

Guarantees:
- a row is written in the same transaction as the change that causes it, so a
  broker outage delays an email but never loses it (the beat sweep publishes
  rows nobody published);
- ``purpose_key`` is unique, so one purpose gets one email, however often the
  code that queues it runs;
- a send starts with an atomic claim (``queued`` → ``sending``), so a task that
  runs twice sends once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from coachapp.emails.messages import new_message_id, render, to_mime
from coachapp.emails.sender import PermanentError, TemporaryError, send_smtp
from coachapp.extensions import db
from coachapp.models import Lead, LeadEvent, OutboxMessage, utcnow

logger = logging.getLogger(__name__)

#: Minutes to wait after the 1st, 2nd, … temporary failure.
BACKOFF_MINUTES = (1, 2, 5, 15, 60, 180)
#: A claim older than this is considered abandoned (the worker died mid-send).
CLAIM_LEASE = timedelta(minutes=10)
#: A published row not picked up within this time is published again.
REPUBLISH_AFTER = timedelta(minutes=5)

_PENDING_KEY = "coachapp.outbox_pending"
SEND_TASK = "outbox.send"


def queue_email(
    *,
    purpose_key: str,
    kind: str,
    to: str,
    template: str,
    lead_id: int | None = None,
    headers: dict[str, str] | None = None,
    capped: bool = False,
    **context: Any,
) -> OutboxMessage | None:
    """Add an outbox row (idempotent per ``purpose_key``); flushed, not committed.

    ``capped`` emails (anything a public form can trigger) are limited per recipient address
    per day, so the forms cannot be used to flood someone's inbox: over the cap nothing is
    queued (None) and the lead's timeline says so.
    """
    existing = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.purpose_key == purpose_key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    if capped and _over_cap(to):
        if lead_id is not None:
            db.session.add(LeadEvent(lead_id=lead_id, kind="email_suppressed",
                                     summary=f"Not sent ({kind}): {to} already got "
                                     f"{current_app.config['RECIPIENT_DAILY_CAP']} emails in 24 h",
                                     data={"kind": kind}))
        logger.warning("Per-recipient cap reached for %s; %s not queued", to, purpose_key)
        return None
    rendered = render(template, **context)
    domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip(">").strip() or "localhost"
    message = OutboxMessage(
        purpose_key=purpose_key,
        kind=kind,
        lead_id=lead_id,
        to_address=to,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=headers or {},
        message_id=new_message_id(domain),
        status="queued",
        next_attempt_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # a concurrent request queued the same purpose first
        return db.session.execute(
            select(OutboxMessage).where(OutboxMessage.purpose_key == purpose_key)
        ).scalar_one()
    db.session.info.setdefault(_PENDING_KEY, []).append(message.id)
    if lead_id is not None:
        db.session.add(
            LeadEvent(
                lead_id=lead_id,
                kind="email_queued",
                summary=f"Email queued: {rendered.subject}",
                data={"outbox_id": message.id, "kind": kind},
            )
        )
    return message


def _over_cap(to: str) -> bool:
    since = utcnow() - timedelta(hours=24)
    sent = db.session.execute(
        select(func.count()).select_from(OutboxMessage)
        .where(func.lower(OutboxMessage.to_address) == to.strip().lower(), OutboxMessage.created_at >= since)
    ).scalar_one()
    return sent >= current_app.config["RECIPIENT_DAILY_CAP"]


def commit() -> None:
    """Commit the session, then publish the outbox rows it queued."""
    pending = db.session.info.pop(_PENDING_KEY, [])
    db.session.commit()
    if pending:
        publish(pending)


def publish(message_ids: list[int]) -> list[int]:
    """Hand rows to the broker; a broker outage is logged, not raised."""
    celery = current_app.extensions["celery"]
    published = []
    for message_id in message_ids:
        try:
            celery.send_task(SEND_TASK, args=(message_id,))
        except Exception:  # broker down: the sweep publishes it later
            logger.warning("Broker unavailable; outbox %s left for the sweep", message_id)
            continue
        published.append(message_id)
    if published:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(published))
            .values(enqueued_at=utcnow())
        )
        db.session.commit()
    return published


def claim(message_id: int, now: datetime) -> bool:
    """Atomically take a row for sending; False when someone else has it or it is done."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                and_(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now),
                and_(
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_at < now - CLAIM_LEASE,
                ),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver(message_id: int, now: datetime | None = None) -> str:
    """Send one outbox row if it is due and unclaimed. Returns the new status."""
    now = now or utcnow()
    if not claim(message_id, now):
        return "skipped"
    message = db.session.get(OutboxMessage, message_id)
    config = current_app.config
    try:
        if config["SMTP_URL"]:
            send_smtp(
                config["SMTP_URL"],
                to_mime(message, config["MAIL_FROM"], config["MAIL_REPLY_TO"]),
            )
            message.transport = "smtp"
        else:
            message.transport = "capture"
    except PermanentError as exc:
        _fail(message, str(exc), bounced=True)
    except TemporaryError as exc:
        if message.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            _fail(message, f"gave up after {message.attempts} attempts: {exc}")
        else:
            delay = BACKOFF_MINUTES[min(message.attempts, len(BACKOFF_MINUTES)) - 1]
            message.status = "queued"
            message.last_error = str(exc)
            message.next_attempt_at = now + timedelta(minutes=delay)
            message.enqueued_at = None
            logger.info("Outbox %s: temporary failure, retry in %s min", message.id, delay)
    else:
        message.status = "sent"
        message.sent_at = utcnow()
        message.last_error = None
        _event(message, "email_sent", f"Email sent: {message.subject}")
    db.session.commit()
    return message.status


def _fail(message: OutboxMessage, error: str, bounced: bool = False) -> None:
    message.status = "failed"
    message.last_error = error
    _event(message, "email_failed", f"Email failed: {message.subject} ({error[:120]})")
    logger.warning("Outbox %s failed permanently: %s", message.id, error)
    if bounced and message.lead_id is not None:
        lead = db.session.get(Lead, message.lead_id)
        if lead is not None and lead.email_display.lower() == message.to_address.lower() and lead.bounced_at is None:
            lead.bounced_at = utcnow()  # the follow-ups stop: "bounced" is a stop rule
            _event(message, "bounced", f"{message.to_address} bounced: no more emails to this address")


def _event(message: OutboxMessage, kind: str, summary: str) -> None:
    if message.lead_id is not None:
        db.session.add(
            LeadEvent(
                lead_id=message.lead_id,
                kind=kind,
                summary=summary,
                data={"outbox_id": message.id, "kind": message.kind},
            )
        )


def resend(message_id: int, now: datetime, by: str) -> OutboxMessage:
    """Queue a failed email again (it was never delivered, so this is not a duplicate)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != "failed":
        raise ValueError("Only failed emails can be sent again.")
    message.status, message.next_attempt_at, message.enqueued_at = "queued", now, None
    db.session.info.setdefault(_PENDING_KEY, []).append(message.id)
    _event(message, "email_queued", f"Email queued again by {by}: {message.subject}")
    return message


def due_for_publishing(now: datetime, limit: int = 500) -> list[int]:
    """Rows that are due and were never published, lost by the broker, or abandoned."""
    stmt = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(
                    OutboxMessage.status == "queued",
                    OutboxMessage.next_attempt_at <= now,
                    or_(
                        OutboxMessage.enqueued_at.is_(None),
                        OutboxMessage.enqueued_at < now - REPUBLISH_AFTER,
                    ),
                ),
                and_(
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_at < now - CLAIM_LEASE,
                ),
            )
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


def sweep(now: datetime | None = None) -> list[int]:
    """Publish every row that is due; run by beat every minute."""
    return publish(due_for_publishing(now or utcnow()))
