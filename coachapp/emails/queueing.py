"""The write side of the outbox: queue a row in the business transaction, publish after
commit (fast, never raising), re-publish what the broker lost (the sweep).

A row queued here carries ``enqueued_at`` from the start: it is published right after its
commit, so the request needs no second commit to record that. When publishing fails (broker
down or hung, or skipped during ``OUTBOX_PUBLISH_PAUSE``) ``enqueued_at`` is cleared again, so the
sweep publishes the row within a minute of the broker coming back; had the web process died
between the commit and the publish, the sweep republishes it after ``OUTBOX_REPUBLISH_AFTER``.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from coachapp.emails.messages import new_message_id, render
from coachapp.extensions import db
from coachapp.models import LeadEvent, OutboxMessage, utcnow
from coachapp.rules_store import get_rules

logger = logging.getLogger(__name__)

PENDING_KEY = "coachapp.outbox_pending"
SEND_TASK = "outbox.send"


def claim_lease() -> timedelta:
    """How long a claim holds without renewal (``OUTBOX_CLAIM_LEASE``)."""
    return timedelta(seconds=current_app.config["OUTBOX_CLAIM_LEASE"])


def queue_email(
    *,
    purpose_key: str,
    kind: str,
    to: str,
    template: str,
    lead_id: int | None = None,
    headers: dict[str, str] | None = None,
    capped: bool = False,
    fresh: bool = False,
    new_recipient: bool = False,
    ics: str | None = None,
    **context: Any,
) -> OutboxMessage | None:
    """Add an outbox row (idempotent per ``purpose_key``); flushed, not committed.

    ``capped`` emails (anything a public form can trigger) are limited per recipient address
    per day, so the forms cannot be used to flood someone's inbox: over the cap nothing is
    queued (None) and the lead's timeline says so.

    ``fresh``: the purpose key names a row created in this transaction (``assessment-result:<id
    just inserted>``), so no other transaction can hold it: no look-up, no savepoint, and no
    flush either: the row is written with the rest of the transaction (its timeline event names
    it through ``LeadEvent.outbox``, so the unit of work writes the email first). The unique key
    still guards it; a conflict would fail the transaction rather than send twice.

    ``new_recipient``: the address belongs to a lead created in this transaction. Nothing can
    have been sent to it within the cap's window (a lead's emails go to its own, unique address,
    and erasing a lead deletes its emails), so the cap is not counted.
    """
    if not fresh:
        existing = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.purpose_key == purpose_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    if capped and not new_recipient and _over_cap(to):
        if lead_id is not None:
            db.session.add(LeadEvent(lead_id=lead_id, kind="email_suppressed", created_at=utcnow(),
                                     summary=f"Not sent ({kind}): {to} already got "
                                     f"{current_app.config['RECIPIENT_DAILY_CAP']} emails in 24 h",
                                     data={"kind": kind}))
        logger.warning("Per-recipient cap reached for %s; %s not queued", to, purpose_key)
        return None
    rendered = render(template, **context)
    now = utcnow()
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
        ics=ics,
        rules_version=get_rules().version,  # the rules this request or task works with (pinned)
        message_id=new_message_id(domain),
        status="queued",
        next_attempt_at=now,
        enqueued_at=now,
        created_at=now,  # published right after the commit (see the module's docstring)
    )
    if fresh:
        db.session.add(message)
    else:
        try:
            with db.session.begin_nested():
                db.session.add(message)
        except IntegrityError:  # a concurrent request queued the same purpose first
            return db.session.execute(
                select(OutboxMessage).where(OutboxMessage.purpose_key == purpose_key)
            ).scalar_one()
    db.session.info.setdefault(PENDING_KEY, []).append(message)
    if lead_id is not None:
        db.session.add(
            LeadEvent(  # created_at given, as every event's: one batched INSERT for them all
                lead_id=lead_id,
                created_at=message.created_at,
                kind="email_queued",
                summary=f"Email queued: {rendered.subject}",
                outbox=message,  # its id, once the flush has written the email (fresh: not yet)
                data={"kind": kind},
            )
        )
    return message


def _over_cap(to: str) -> bool:
    since = utcnow() - timedelta(hours=24)
    # no autoflush: the lead's pending changes go in one UPDATE, later. A ``fresh`` row queued
    # earlier in this transaction is not counted (not written yet): a submission queues at most
    # one capped email, to its own lead
    with db.session.no_autoflush:
        sent = db.session.execute(
            select(func.count()).select_from(OutboxMessage)
            .where(func.lower(OutboxMessage.to_address) == to.strip().lower(), OutboxMessage.created_at >= since)
        ).scalar_one()
    return sent >= current_app.config["RECIPIENT_DAILY_CAP"]


def queued_here(lead_id: int, kind: str) -> bool:
    """Whether this session queued an email of ``kind`` for the lead (not committed yet)."""
    return any(m.lead_id == lead_id and m.kind == kind for m in db.session.info.get(PENDING_KEY, ()))


def commit() -> None:
    """Commit the session, then publish the outbox rows it queued (one commit: the rows already
    say they are published; only a failed publish writes again, to clear that)."""
    queued = db.session.info.pop(PENDING_KEY, [])
    if queued:
        db.session.flush()  # the whole transaction, in one go: the emails get their ids
    pending = [m.id for m in queued]
    db.session.commit()
    if pending:
        publish(pending, in_request=True, marked=True)


def publish(message_ids: list[int], in_request: bool = False, marked: bool = False) -> list[int]:
    """Hand rows to the broker; a broker outage is logged, not raised.

    Every broker call has ``OUTBOX_PUBLISH_TIMEOUT`` (connect and reply) and no retry, and the
    first failure leaves the rest for the sweep. After a failure, commits in a request skip the
    broker for ``OUTBOX_PUBLISH_PAUSE`` seconds: a hung Redis costs one request one timeout, not
    every request (the sweep, which runs in the background, always tries).

    ``marked``: the rows carry ``enqueued_at`` already (queued in this request); then only the
    ones not published are written, to clear it so the sweep takes them at once.
    """
    if not message_ids:
        return []
    config = current_app.config
    state = current_app.extensions.setdefault("outbox_publisher", {"paused_until": 0.0})
    if in_request and time.monotonic() < state["paused_until"]:
        logger.info("Broker recently unreachable; %d outbox row(s) left for the sweep", len(message_ids))
        if marked:
            _record_enqueued(message_ids, None)
        return []
    celery = current_app.extensions["celery"]
    held = state.setdefault("connections", threading.local())
    published: list[int] = []
    try:
        connection = _broker_connection(celery, held, config["OUTBOX_PUBLISH_TIMEOUT"])
        for message_id in message_ids:
            celery.send_task(SEND_TASK, args=(message_id,), connection=connection, retry=False)
            published.append(message_id)
    except Exception as exc:  # broker down or hung: the sweep publishes the rest later
        _drop_connection(held)
        state["paused_until"] = time.monotonic() + config["OUTBOX_PUBLISH_PAUSE"]
        logger.warning("Broker unavailable (%s); %d outbox row(s) left for the sweep",
                       type(exc).__name__, len(message_ids) - len(published))
    if marked:
        _record_enqueued([i for i in message_ids if i not in published], None)
    else:
        _record_enqueued(published, utcnow())
    return published


def _broker_connection(celery: Any, held: threading.local, timeout: float) -> Any:
    """This thread's broker connection for publishing, kept between requests.

    A new connection per commit cost about 5 ms of CPU per submission on Redis (TCP connect,
    the client's set-up, the queue's declaration again), a third of the API POST's CPU
    (``bench/profile_write.py --redis``). Kept, it is one round trip per task message. Each
    call on it still has ``OUTBOX_PUBLISH_TIMEOUT`` (connect and reply) and no retry; a failure
    drops it, so the next publish starts afresh (redis-py also replaces a socket the server
    closed, e.g. after a Redis restart, when it next takes it from its pool). One per thread:
    a kombu connection is not thread-safe; gunicorn's sync workers have one thread each."""
    connection = getattr(held, "connection", None)
    if connection is None:
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
        connection = celery.connection_for_write(transport_options=options)
        held.connection = connection
    return connection


def _drop_connection(held: threading.local) -> None:
    connection = getattr(held, "connection", None)
    held.connection = None
    if connection is not None:
        try:
            connection.release()
        except Exception:  # already broken: nothing to close cleanly
            logger.debug("Broker connection not released cleanly", exc_info=True)


def _record_enqueued(message_ids: list[int], at: datetime | None) -> None:
    """Record when rows were published (None: not published, the sweep takes them). Never
    raises: a row wrongly marked published is published again after OUTBOX_REPUBLISH_AFTER, a row
    wrongly marked not published once more by the sweep (the claim absorbs either)."""
    if not message_ids:
        return
    try:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(message_ids)).values(enqueued_at=at)
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        logger.warning("Outbox %s: enqueued_at not recorded", message_ids, exc_info=True)


def resend(message_id: int, now: datetime, by: str) -> OutboxMessage:
    """Queue a failed email again (it was never delivered, so this is not a duplicate)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != "failed":
        raise ValueError("Only failed emails can be sent again.")
    message.status, message.next_attempt_at, message.enqueued_at = "queued", now, now
    db.session.info.setdefault(PENDING_KEY, []).append(message)
    if message.lead_id is not None:
        db.session.add(LeadEvent(lead_id=message.lead_id, kind="email_queued", outbox_id=message.id,
                                 summary=f"Email queued again by {by}: {message.subject}",
                                 data={"outbox_id": message.id, "kind": message.kind}))
    return message


def due_for_publishing(now: datetime, limit: int = 500) -> list[int]:
    """Rows that are due and were never published, lost by the broker, or abandoned."""
    republish_after = timedelta(seconds=current_app.config["OUTBOX_REPUBLISH_AFTER"])
    stmt = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(
                    OutboxMessage.status == "queued",
                    OutboxMessage.next_attempt_at <= now,
                    or_(
                        OutboxMessage.enqueued_at.is_(None),
                        OutboxMessage.enqueued_at < now - republish_after,
                    ),
                ),
                and_(
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_at < now - claim_lease(),
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
