"""The outbox: one email per purpose, atomic claims, retries with backoff,
permanent failures, and a broker outage that delays but never loses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.models import Lead, LeadEvent, OutboxMessage, utcnow


def _lead() -> Lead:
    lead = Lead(email="ana@example.com", email_display="ana@example.com", first_name="Ana")
    db.session.add(lead)
    db.session.flush()
    return lead


def _queue(lead: Lead, key: str = "test:1") -> OutboxMessage:
    return outbox.queue_email(
        purpose_key=key, kind="test", to=lead.email_display, template="assessment_clinician",
        lead_id=lead.id, first_name=lead.first_name,
        result={"safety": {"fired": [{"level": "red", "reason": "Chest pain on exertion."}]}},
        results_url="http://coach.test/r", business_name="Motive", business_address="Austin, TX",
    )


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_queue_is_idempotent_per_purpose(db_app):
    lead = _lead()
    first = _queue(lead)
    again = _queue(lead)
    outbox.commit()
    assert first.id == again.id
    assert _count(OutboxMessage) == 1
    assert first.subject.startswith("Ana, please check in with a clinician")
    assert "Chest pain on exertion." in first.text_body
    assert "Chest pain on exertion." in first.html_body


def test_claim_is_exclusive_and_deliver_sends_once(db_app):
    message = _queue(_lead())
    outbox.commit()
    now = utcnow()
    assert outbox.claim(message.id, now) is True
    assert outbox.claim(message.id, now) is False  # a second task run gets nothing
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == "sending"


def test_capture_transport_marks_sent_and_records_timeline(db_app):
    message = _queue(_lead())
    outbox.commit()
    assert outbox.deliver(message.id) == "sent"
    assert outbox.deliver(message.id) == "skipped"  # the task ran twice: still one email
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert (row.status, row.transport, row.attempts) == ("sent", "capture", 1)
    kinds = db.session.execute(select(LeadEvent.kind).order_by(LeadEvent.id)).scalars().all()
    assert kinds == ["email_queued", "email_sent"]


def test_smtp_delivery_sends_multipart_with_message_id(db_app, smtp_server, monkeypatch):
    monkeypatch.setitem(db_app.config, "SMTP_URL", smtp_server.url)
    message = _queue(_lead())
    outbox.commit()
    assert outbox.deliver(message.id) == "sent"
    received = smtp_server.wait_for(1)
    assert len(received) == 1
    mail = received[0]
    assert mail["To"] == "ana@example.com"
    assert mail["Message-ID"] == message.message_id
    assert {part.get_content_type() for part in mail.walk()} >= {"text/plain", "text/html"}


def test_temporary_smtp_failure_backs_off_then_succeeds(db_app, smtp_server, monkeypatch):
    monkeypatch.setitem(db_app.config, "SMTP_URL", smtp_server.url)
    smtp_server.fail_next("451 4.3.0 Try again later")
    message = _queue(_lead())
    outbox.commit()
    now = utcnow()
    assert outbox.deliver(message.id, now) == "queued"
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert row.attempts == 1
    assert "451" in row.last_error
    assert row.next_attempt_at == now + timedelta(minutes=outbox.BACKOFF_MINUTES[0])
    # Not due yet: neither the task nor the sweep touches it.
    assert outbox.deliver(message.id, now) == "skipped"
    assert message.id not in outbox.due_for_publishing(now)
    later = now + timedelta(minutes=2)
    assert message.id in outbox.due_for_publishing(later)
    assert outbox.deliver(message.id, later) == "sent"
    assert len(smtp_server.wait_for(1)) == 1


def test_permanent_smtp_failure_is_marked_failed(db_app, smtp_server, monkeypatch):
    monkeypatch.setitem(db_app.config, "SMTP_URL", smtp_server.url)
    smtp_server.fail_next("550 5.1.1 No such user")
    message = _queue(_lead())
    outbox.commit()
    assert outbox.deliver(message.id) == "failed"
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert "550" in row.last_error
    assert smtp_server.messages == []
    kinds = db.session.execute(select(LeadEvent.kind)).scalars().all()
    assert "email_failed" in kinds and "bounced" in kinds
    assert db.session.get(Lead, row.lead_id).bounced_at is not None  # follow-ups stop for this address


def test_gives_up_after_max_attempts(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "SMTP_URL", "smtp://127.0.0.1:1")  # nothing listens
    monkeypatch.setitem(db_app.config, "OUTBOX_MAX_ATTEMPTS", 2)
    message = _queue(_lead())
    outbox.commit()
    now = utcnow()
    assert outbox.deliver(message.id, now) == "queued"
    assert outbox.deliver(message.id, now + timedelta(hours=1)) == "failed"
    db.session.expire_all()
    assert "gave up after 2 attempts" in db.session.get(OutboxMessage, message.id).last_error


def test_abandoned_claim_is_reclaimed_after_the_lease(db_app):
    message = _queue(_lead())
    outbox.commit()
    start = utcnow()
    assert outbox.claim(message.id, start)  # the worker then dies mid-send
    assert message.id not in outbox.due_for_publishing(start + timedelta(minutes=1))
    after_lease = start + outbox.CLAIM_LEASE + timedelta(seconds=1)
    assert message.id in outbox.due_for_publishing(after_lease)
    assert outbox.deliver(message.id, after_lease) == "sent"


def test_broker_outage_is_not_an_error_and_the_sweep_catches_up(db_app, database_url):
    from coachapp import create_app
    from coachapp.config import celery_settings
    from tests.conftest import dispose, make_config

    # The same database, but a broker where nothing listens: a real outage.
    dead_broker = create_app(make_config(
        database_url,
        CELERY=celery_settings({"REDIS_URL": "redis://127.0.0.1:9/0"}, Path(db_app.instance_path)),
    ))
    with dead_broker.app_context():
        message = _queue(_lead())
        outbox.commit()  # must not raise: the row is durable, publishing can wait
        message_id = message.id
    dispose(dead_broker)
    row = db.session.get(OutboxMessage, message_id)
    assert (row.status, row.enqueued_at) == ("queued", None)
    assert outbox.sweep() == [message_id]  # broker back: the sweep publishes it
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message_id).enqueued_at is not None
    assert outbox.sweep() == []  # published once; not again until REPUBLISH_AFTER


@pytest.mark.parametrize("status", ["sent", "failed"])
def test_finished_rows_are_never_published_again(db_app, status):
    message = _queue(_lead())
    outbox.commit()
    message.status = status
    db.session.commit()
    assert outbox.due_for_publishing(utcnow() + timedelta(days=1)) == []
