"""The send side of the outbox: claim a row, send it within a deadline while the lease is
renewed, and record the outcome through database outages.

A 5xx to RCPT TO bounces the lead's address; a 5xx anywhere else is our problem (failed,
logged at ERROR, on the lead's timeline, the owner alerted once a day), never the lead's; a
later delivery to a bounced address clears the bounce.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, insert, or_, select, update

from coachapp.emails.lease import Lease, durable, transient
from coachapp.emails.messages import to_mime
from coachapp.emails.queueing import claim_lease, commit, queue_email
from coachapp.emails.sender import RecipientRejected, SenderRejected, TemporaryError, send_smtp
from coachapp.extensions import db
from coachapp.models import Coach, Lead, LeadEvent, OutboxMessage, utcnow

logger = logging.getLogger(__name__)

#: Minutes to wait after the 1st, 2nd, … temporary failure.
BACKOFF_MINUTES = (1, 2, 5, 15, 60, 180)
#: The owner's "our mail server refuses to send" alert: once a day (its purpose key has the date).
SETUP_ALERT_KIND = "mail_setup_alert"


@dataclass(frozen=True)
class _Job:
    """What a send needs, read in the claiming transaction (the send itself never reads the database)."""

    id: int
    token: int  # ``attempts`` after the claim: whose claim this is
    lead_id: int | None
    kind: str
    subject: str
    to_address: str
    mime: EmailMessage | None


@dataclass(frozen=True)
class _Outcome:
    status: str  # "sent" | "temporary" | "bounced" | "rejected"
    error: str | None = None
    transport: str | None = None


def claim(message_id: int, now: datetime) -> bool:
    """Atomically take a row for sending; False when someone else has it or it is done."""
    return _claim(message_id, now) is not None


# The per-email statements are Core statements on the tables (no ORM bookkeeping for rows that
# nothing in this session reads back as objects): a claim, a record, a timeline line.
_outbox_t, _events_t = OutboxMessage.__table__, LeadEvent.__table__
_outbox = _outbox_t.c

#: What the claim reads back (``UPDATE … RETURNING``): everything the send needs, in one statement.
_CLAIMED = (_outbox.attempts, _outbox.lead_id, _outbox.kind, _outbox.to_address, _outbox.subject,
            _outbox.text_body, _outbox.html_body, _outbox.headers, _outbox.message_id, _outbox.ics)


def _claim(message_id: int, now: datetime) -> _Job | None:
    row = db.session.execute(
        update(_outbox_t)
        .where(
            _outbox.id == message_id,
            or_(
                and_(_outbox.status == "queued", _outbox.next_attempt_at <= now),
                and_(_outbox.status == "sending", _outbox.claimed_at < now - claim_lease()),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=_outbox.attempts + 1)
        .returning(*_CLAIMED)
    ).one_or_none()
    if row is None:
        db.session.rollback()
        return None
    db.session.commit()  # the claim and what was read with it, or neither
    config = current_app.config
    return _Job(
        id=message_id, token=row.attempts, lead_id=row.lead_id, kind=row.kind,
        subject=row.subject, to_address=row.to_address,
        mime=to_mime(row, config["MAIL_FROM"], config["MAIL_REPLY_TO"]) if config["SMTP_URL"] else None,
    )


def deliver(message_id: int, now: datetime | None = None) -> str:
    """Send one outbox row if it is due and unclaimed. Returns the new status."""
    now = now or utcnow()
    job = _claim(message_id, now)
    if job is None:
        return "skipped"
    config = current_app.config
    lease = config["OUTBOX_CLAIM_LEASE"]
    budget = config["OUTBOX_SEND_DEADLINE"] + config["OUTBOX_RECORD_DEADLINE"]
    held = (Lease(db.engine, job.id, job.token, interval=max(lease / 4, 0.5), until=time.monotonic() + budget)
            if job.mime is not None else nullcontext())  # capturing takes no time: nothing to renew
    with held:
        outcome = _send(job)
        return durable(lambda: _record(job, outcome, now), config["OUTBOX_RECORD_DEADLINE"],
                       f"Outbox {job.id}: recording {outcome.status}")


def _send(job: _Job) -> _Outcome:
    config = current_app.config
    if job.mime is None:
        return _Outcome("sent", transport="capture")
    try:
        send_smtp(config["SMTP_URL"], job.mime, timeout=config["SMTP_TIMEOUT"],
                  deadline=config["OUTBOX_SEND_DEADLINE"], keepalive=config["SMTP_KEEPALIVE"])
    except RecipientRejected as exc:
        return _Outcome("bounced", str(exc))
    except SenderRejected as exc:
        return _Outcome("rejected", str(exc))
    except TemporaryError as exc:
        return _Outcome("temporary", str(exc))
    return _Outcome("sent", transport="smtp")


def _record(job: _Job, outcome: _Outcome, now: datetime) -> str:
    """One transaction that records the outcome; safe to run again (every update is guarded)."""
    row = _outbox.id == job.id
    mine = and_(row, _outbox.status == "sending", _outbox.attempts == job.token)
    if outcome.status == "sent":
        # Sent is sent, even if the lease ran out and someone else holds the row now.
        # One UPDATE, which also says whether the lead is marked bounced (nearly never: then read it).
        leads = Lead.__table__.c
        bounced = select(leads.id).where(leads.id == _outbox.lead_id, leads.bounced_at.is_not(None)).scalar_subquery()
        recorded = db.session.execute(
            update(_outbox_t).where(row, _outbox.status.in_(("sending", "queued")))
            .values(status="sent", sent_at=utcnow(), transport=outcome.transport, last_error=None)
            .returning(bounced)
        ).one_or_none()
        if recorded is None:
            db.session.rollback()
            return _status(job.id)  # recorded already (a commit whose reply was lost), or by another worker
        _event(job, "email_sent", f"Email sent: {job.subject}")
        if recorded[0] is not None:
            _clear_bounce(job)
        status = "sent"
    elif outcome.status == "temporary" and job.token < current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        delay = BACKOFF_MINUTES[min(job.token, len(BACKOFF_MINUTES)) - 1]
        values = {"status": "queued", "last_error": outcome.error, "enqueued_at": None,
                  "next_attempt_at": now + timedelta(minutes=delay)}
        if not _update(mine, values):
            return _status(job.id)
        logger.info("Outbox %s: temporary failure, retry in %s min: %s", job.id, delay, outcome.error)
        status = "queued"
    else:
        error = outcome.error or ""
        if outcome.status == "temporary":
            error = f"gave up after {job.token} attempts: {error}"
        if not _update(mine, {"status": "failed", "last_error": error}):
            return _status(job.id)
        if outcome.status == "rejected":
            _sender_rejected(job, error, now)
        else:
            _event(job, "email_failed", f"Email failed: {job.subject} ({error[:120]})")
            logger.warning("Outbox %s failed permanently: %s", job.id, error)
        if outcome.status == "bounced":
            _bounce(job)
        status = "failed"
    commit()  # and publish the owner's alert, if one was queued
    return status


def _update(where: Any, values: dict[str, Any]) -> bool:
    result = db.session.execute(update(_outbox_t).where(where).values(**values))
    if result.rowcount == 1:
        return True
    db.session.rollback()
    return False


def _status(message_id: int) -> str:
    status = db.session.execute(select(OutboxMessage.status).where(OutboxMessage.id == message_id)).scalar()
    return status or "skipped"


def _event(job: _Job, kind: str, summary: str, **data: Any) -> None:
    """One timeline line, inserted at once (no unit of work for a row nothing reads back)."""
    if job.lead_id is not None:
        db.session.execute(insert(_events_t).values(lead_id=job.lead_id, kind=kind, summary=summary,
                                                  outbox_id=job.id,
                                                  data={"outbox_id": job.id, "kind": job.kind, **data}))


def _addressed_to(job: _Job) -> Lead | None:
    """The lead this email went to, if it went to the lead's current address."""
    lead = db.session.get(Lead, job.lead_id) if job.lead_id is not None else None
    if lead is None or (lead.email_display or "").strip().lower() != job.to_address.strip().lower():
        return None
    return lead


def _bounce(job: _Job) -> None:
    lead = _addressed_to(job)
    if lead is not None and lead.bounced_at is None:
        lead.bounced_at = utcnow()  # the follow-ups stop: "bounced" is a stop rule
        _event(job, "bounced", f"{job.to_address} bounced: no more emails to this address")


def _clear_bounce(job: _Job) -> None:
    """A delivery the server accepted proves the address works again."""
    lead = _addressed_to(job)
    if lead is not None and lead.bounced_at is not None:
        lead.bounced_at = None
        _event(job, "bounce_cleared", f"{job.to_address} accepted an email again: the bounce is cleared")


def _sender_rejected(job: _Job, error: str, now: datetime) -> None:
    """Our mail server refused to send: our problem, never the lead's. Log, timeline, owner alert."""
    logger.error("Outbox %s (%s) not sent: the mail server refused the sender or the message, "
                 "not the recipient; check SMTP_URL and MAIL_FROM: %s", job.id, job.kind, error)
    _event(job, "email_failed",
           f"Email not sent: {job.subject}. Our mail server refused it ({error[:120]}); "
           "this is a problem with the sending account, not with this address, so it is not marked bounced.",
           ours=True)
    if job.kind == SETUP_ALERT_KIND:
        return  # the alert itself cannot get through: the ERROR log line is what is left
    try:
        with db.session.begin_nested():
            _alert_owners(error, now)
    except Exception as exc:
        if transient(exc):
            raise
        logger.exception("Outbox %s: could not queue the owner's alert", job.id)


def _alert_owners(error: str, now: datetime) -> None:
    config = current_app.config
    owners = db.session.execute(select(Coach.email).where(Coach.is_owner, Coach.active)
                                .order_by(Coach.id)).scalars().all()
    owners = owners or [config["OWNER_EMAIL"] or config["MAIL_FROM"]]
    for index, owner in enumerate(owners):
        queue_email(purpose_key=f"mail-setup:{now.date().isoformat()}:{index}", kind=SETUP_ALERT_KIND,
                    to=owner, template="mail_setup_alert", error=error, smtp_host=_smtp_host(),
                    outbox_url=config["BASE_URL"] + "/dashboard/outbox")


def _smtp_host() -> str:
    url = urlsplit(current_app.config["SMTP_URL"] or "")
    return f"{url.hostname}:{url.port}" if url.port else (url.hostname or "")

