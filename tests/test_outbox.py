"""The outbox: one email per purpose, atomic claims and renewed leases, retries with backoff,
SMTP replies classified by stage, deadlines, recording "sent" through a database outage, and a
broker outage that delays but never loses. (Real processes and real faults: tests/faults/.)"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from coachapp.emails import outbox
from coachapp.emails.lease import Lease, durable
from coachapp.extensions import db
from coachapp.models import Lead, LeadEvent, OutboxMessage, utcnow
from tests.conftest import require


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


def _until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


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


@pytest.fixture
def sink(db_app, monkeypatch):
    """A scriptable SMTP server (tests/faults/smtp_sink.py) with short clocks."""
    from tests.faults.smtp_sink import Sink

    server = Sink()
    monkeypatch.setitem(db_app.config, "SMTP_URL", server.url)
    monkeypatch.setitem(db_app.config, "SMTP_TIMEOUT", 1.0)
    monkeypatch.setitem(db_app.config, "OUTBOX_SEND_DEADLINE", 2.0)
    yield server
    server.stop()


def _events(kind: str) -> list[LeadEvent]:
    return list(db.session.execute(select(LeadEvent).where(LeadEvent.kind == kind)).scalars())


def test_5xx_to_rcpt_to_bounces_that_address(db_app, sink):
    sink.add("rcpt", "550 5.1.1 No such user")
    message = _queue(_lead())
    outbox.commit()
    assert outbox.deliver(message.id) == "failed"
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert "550 5.1.1 No such user" in row.last_error and "RCPT TO" in row.last_error
    assert sink.total() == 0
    kinds = db.session.execute(select(LeadEvent.kind)).scalars().all()
    assert "email_failed" in kinds and "bounced" in kinds
    assert db.session.get(Lead, row.lead_id).bounced_at is not None  # follow-ups stop for this address


@pytest.mark.parametrize(("stage", "reply"), [
    ("mail", "550 5.7.1 Sender address rejected: not owned by user"),
    ("greeting", "554 5.7.1 No SMTP service for your address"),
    ("data", "554 5.7.0 Message refused"),
    ("end", "550 5.7.1 Message rejected as spam"),
])
def test_a_5xx_that_is_not_about_the_recipient_is_ours_not_a_bounce(db_app, sink, caplog, stage, reply):
    """A misconfigured account refuses everything: every email fails, no lead is marked bounced,
    the lead's timeline says why, an ERROR is logged each time, the owner is alerted once."""
    sink.add(stage, reply, times=10)
    leads = [Lead(email=f"r{n}@example.com", email_display=f"r{n}@example.com", first_name=f"R{n}") for n in range(3)]
    db.session.add_all(leads)
    db.session.flush()
    ids = [_queue(lead, key=f"test:{lead.id}").id for lead in leads]
    outbox.commit()
    with caplog.at_level("ERROR", logger="coachapp.emails"):
        assert [outbox.deliver(i) for i in ids] == ["failed"] * 3
    db.session.expire_all()
    assert sink.total() == 0
    assert all(lead.bounced_at is None for lead in db.session.execute(select(Lead)).scalars())
    assert _events("bounced") == []
    failed = _events("email_failed")
    assert len(failed) == 3 and all("not marked bounced" in e.summary for e in failed)
    assert all(e.data["ours"] for e in failed)
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "refused the sender" in r.getMessage()]
    assert len(errors) == 3 and reply.split()[0] in errors[0].getMessage()
    alerts = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == outbox.SETUP_ALERT_KIND)).scalars().all()
    assert len(alerts) == 1  # once, however many emails the server refused
    alert = alerts[0]
    assert alert.lead_id is None and reply in alert.text_body and "SMTP_URL" in alert.text_body
    # The alert goes through the same broken server: it fails too, and alerts nobody again.
    assert outbox.deliver(alert.id) == "failed"
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.kind == outbox.SETUP_ALERT_KIND)).scalar_one() == 1


def test_a_later_delivery_clears_the_bounce(db_app, sink):
    lead = _lead()
    sink.add("rcpt", "550 5.2.1 Mailbox disabled")
    first = _queue(lead, key="test:first")
    outbox.commit()
    assert outbox.deliver(first.id) == "failed"
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).bounced_at is not None
    outbox.resend(first.id, utcnow(), by="Sam")  # the mailbox works again
    outbox.commit()
    assert outbox.deliver(first.id) == "sent"
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).bounced_at is None
    assert [e.summary for e in _events("bounce_cleared")] == [
        "ana@example.com accepted an email again: the bounce is cleared"]
    assert sink.total() == 1


@pytest.mark.parametrize("fault", ["hang", "trickle"])
def test_a_server_that_hangs_or_trickles_is_cut_off_at_the_deadline(db_app, sink, fault):
    sink.add("greeting", fault)
    message = _queue(_lead())
    outbox.commit()
    started = time.monotonic()
    assert outbox.deliver(message.id) == "queued"  # a temporary failure: retried later
    took = time.monotonic() - started
    assert took < 2.0 + 3.0, took  # the 2 s deadline (1 s per read), plus a busy machine's slack
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert row.status == "queued" and row.next_attempt_at > utcnow()
    assert ("deadline" if fault == "trickle" else "timed out") in row.last_error


def test_4xx_at_any_stage_is_retried_later(db_app, sink):
    sink.add("mail", "451 4.3.0 Try again later")
    sink.add("rcpt", "452 4.2.2 Mailbox full")
    message = _queue(_lead())
    outbox.commit()
    now = utcnow()
    assert outbox.deliver(message.id, now) == "queued"
    assert outbox.deliver(message.id, now + timedelta(minutes=2)) == "queued"
    assert outbox.deliver(message.id, now + timedelta(minutes=10)) == "sent"
    assert sink.total() == 1
    db.session.expire_all()
    assert db.session.get(Lead, db.session.get(OutboxMessage, message.id).lead_id).bounced_at is None


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


def test_abandoned_claim_is_reclaimed_after_the_configured_lease(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "OUTBOX_CLAIM_LEASE", 90)
    message = _queue(_lead())
    outbox.commit()
    start = utcnow()
    assert outbox.claim(message.id, start)  # the worker then dies mid-send
    assert outbox.claim_lease() == timedelta(seconds=90)
    assert message.id not in outbox.due_for_publishing(start + timedelta(seconds=89))
    assert not outbox.claim(message.id, start + timedelta(seconds=89))
    after_lease = start + timedelta(seconds=91)
    assert message.id in outbox.due_for_publishing(after_lease)
    assert outbox.deliver(message.id, after_lease) == "sent"


def test_the_lease_is_renewed_while_a_send_is_in_progress(db_app):
    message = _queue(_lead())
    outbox.commit()
    claimed = utcnow()
    assert outbox.claim(message.id, claimed)
    token = db.session.get(OutboxMessage, message.id).attempts

    def claimed_at():
        db.session.expire_all()
        return db.session.get(OutboxMessage, message.id).claimed_at

    with Lease(db.engine, message.id, token, interval=0.05, until=time.monotonic() + 30):
        assert _until(lambda: claimed_at() > claimed)
    with Lease(db.engine, message.id, token + 1, interval=0.05, until=time.monotonic() + 30) as stale:
        assert stale.renew(utcnow()) is False  # not our claim any more: never renewed


def test_recording_sent_outlasts_a_database_outage(db_app, monkeypatch, caplog):
    """The server said 250; the first tries to record it hit a dead connection. The worker keeps
    trying (new session each time) instead of leaving the row to the lease: one email."""
    from coachapp.emails import delivery

    message_id = _queue(_lead()).id
    outbox.commit()
    real, failures = delivery._record, []

    def flaky(job, outcome, now):
        if len(failures) < 3:
            failures.append(db.session())
            raise OperationalError("UPDATE outbox_messages", {}, Exception("server closed the connection"))
        return real(job, outcome, now)

    monkeypatch.setattr(delivery, "_record", flaky)
    with caplog.at_level("WARNING", logger="coachapp.emails"):
        assert outbox.deliver(message_id) == "sent"
    assert len(failures) == 3 and len(set(map(id, failures))) == 3  # a fresh session each try
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message_id).status == "sent"
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 3


def test_recording_gives_up_after_its_deadline(db_app):
    calls = []

    def always_down():
        calls.append(time.monotonic())
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(OperationalError):
        durable(always_down, deadline=0.5, what="test")
    assert 2 <= len(calls) and calls[-1] - calls[0] <= 0.5 + 0.5
    with pytest.raises(ValueError):  # not a database outage: not retried
        durable(lambda: (_ for _ in ()).throw(ValueError("bug")), deadline=5, what="test")


def test_send_deadlines_and_time_limits_fit_inside_the_lease(db_app):
    from coachapp.config import outbox_settings

    config = db_app.config
    task = db_app.extensions["celery"].tasks["outbox.send"]
    assert config["OUTBOX_CLAIM_LEASE"] == 120
    assert config["SMTP_TIMEOUT"] < config["OUTBOX_SEND_DEADLINE"]
    assert config["OUTBOX_SEND_DEADLINE"] + config["OUTBOX_RECORD_DEADLINE"] < task.soft_time_limit
    assert task.soft_time_limit < task.time_limit < config["OUTBOX_CLAIM_LEASE"]
    short = outbox_settings({"OUTBOX_CLAIM_LEASE": "10", "OUTBOX_SEND_DEADLINE": "2", "OUTBOX_RECORD_DEADLINE": "5"})
    assert (short["OUTBOX_SOFT_TIME_LIMIT"], short["OUTBOX_HARD_TIME_LIMIT"]) == (8, 9)
    with pytest.raises(ValueError, match="OUTBOX_CLAIM_LEASE"):
        outbox_settings({"OUTBOX_CLAIM_LEASE": "60"})  # 30 s + 60 s cannot fit in 48 s


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


def test_publishing_keeps_one_broker_connection_per_thread(db_app, database_url):
    """Each commit used to open a new Redis connection (about 5 ms of CPU per submission); the
    connection is kept now, and every task message still reaches the queue."""
    import redis

    from coachapp import create_app
    from coachapp.config import celery_settings
    from tests.conftest import dispose, make_config

    queue = f"test-reuse-{uuid.uuid4().hex[:8]}"
    url = "redis://127.0.0.1:6379/11"
    require(url, "Redis")
    app = create_app(make_config(database_url, CELERY=celery_settings(
        {"REDIS_URL": url, "CELERY_QUEUE": queue}, Path(db_app.instance_path))))
    client = redis.Redis.from_url(url)
    try:
        connections = []
        with app.app_context():
            lead = _lead_named("reuse@example.com")
            for n in range(3):
                _queue(lead, key=f"test:reuse:{n}")
                outbox.commit()
                connections.append(app.extensions["outbox_publisher"]["connections"].connection)
        assert connections[0] is not None and all(c is connections[0] for c in connections)
        assert client.llen(queue) == 3  # every message published, over the one connection
    finally:
        client.delete(queue)
        client.close()
        dispose(app)


@pytest.mark.parametrize("status", ["sent", "failed"])
def test_finished_rows_are_never_published_again(db_app, status):
    message = _queue(_lead())
    outbox.commit()
    message.status = status
    db.session.commit()
    assert outbox.due_for_publishing(utcnow() + timedelta(days=1)) == []


def test_a_published_row_needs_no_second_write_and_a_skipped_one_is_left_to_the_sweep(db_app, monkeypatch):
    """One commit per submission: the row is written already marked published; when publishing
    is skipped (the broker paused after a failure) the mark is cleared so the sweep takes it."""
    from coachapp.emails import queueing

    sent: list[int] = []
    monkeypatch.setattr(queueing, "publish", lambda ids, **kw: sent.extend(ids) or list(ids))
    message = _queue(_lead())
    message_id = message.id
    outbox.commit()
    assert sent == [message_id]
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message_id).enqueued_at is not None
    assert outbox.due_for_publishing(utcnow()) == []  # not published twice by the sweep

    monkeypatch.undo()
    state = db_app.extensions.setdefault("outbox_publisher", {"paused_until": 0.0})
    monkeypatch.setitem(state, "paused_until", time.monotonic() + 60)
    second = _queue(_lead_named("bo@example.com"), key="test:2")
    second_id = second.id
    outbox.commit()
    db.session.expire_all()
    assert db.session.get(OutboxMessage, second_id).enqueued_at is None
    assert outbox.due_for_publishing(utcnow()) == [second_id]


def _lead_named(email: str) -> Lead:
    lead = Lead(email=email, email_display=email, first_name="Bo")
    db.session.add(lead)
    db.session.flush()
    return lead
