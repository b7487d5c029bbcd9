"""Delivering to a real HTTP server on loopback: signed the Standard Webhooks way (checked by an
independent implementation), retried with backoff, failed on a 4xx, no redirect followed, a
private address refused unless allowed, one send per claim, and replay."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from coachapp.extensions import db
from coachapp.models import WebhookDelivery, utcnow
from coachapp.webhooks_out import delivery, queueing
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_webhooks_out import make_endpoint, verify


@pytest.fixture
def allow_loopback(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


def _queued(url: str, events=("assessment.completed",)) -> tuple[WebhookDelivery, object]:
    endpoint = make_endpoint(db, url, list(events))
    complete_assessment(DESK_ACHILLES, "dana@example.com")
    return db.session.execute(select(WebhookDelivery)).scalar_one(), endpoint


def _row(delivery_id: int) -> WebhookDelivery:
    db.session.expire_all()
    return db.session.get(WebhookDelivery, delivery_id)


def test_the_request_is_signed_and_verifies_independently(db_app, receiver, allow_loopback):
    row, endpoint = _queued(receiver.url)
    before = int(time.time())
    assert delivery.deliver(row.id) == "sent"
    [got] = receiver.received
    assert got.path == "/hooks/coachapp"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == row.message_id
    assert before - 1 <= int(got.headers["webhook-timestamp"]) <= time.time() + 1
    assert got.headers["webhook-signature"].startswith("v1,")
    assert endpoint.secret.startswith("whsec_")
    assert verify(endpoint.secret, got.headers, got.body)
    assert not verify(endpoint.secret, got.headers, got.body.replace(b"Dana", b"Dina"))  # the body is covered
    assert got.json == row.payload and json.loads(got.body)["type"] == "assessment.completed"
    sent = _row(row.id)
    assert (sent.status, sent.attempts, sent.last_status_code, sent.claimed_until) == ("sent", 1, 200, None)
    assert sent.sent_at is not None


def test_a_500_is_retried_with_backoff_and_ends_sent_once(db_app, receiver, allow_loopback):
    receiver.script = [500]
    row, _ = _queued(receiver.url)
    now = utcnow()
    assert delivery.deliver(row.id, now) == "queued"
    retry = _row(row.id)
    assert retry.last_status_code == 500 and retry.next_attempt_at == now + timedelta(minutes=1)
    assert retry.enqueued_at is None  # the sweep publishes it when due
    assert delivery.deliver(row.id, now + timedelta(seconds=30)) == "skipped"  # not due yet
    assert queueing.due_for_publishing(now + timedelta(seconds=30)) == []
    assert queueing.due_for_publishing(now + timedelta(minutes=1)) == [row.id]
    assert delivery.deliver(row.id, now + timedelta(minutes=1)) == "sent"
    assert delivery.deliver(row.id, now + timedelta(minutes=2)) == "skipped"
    assert [r.headers["webhook-id"] for r in receiver.received] == [row.message_id] * 2
    assert (_row(row.id).status, _row(row.id).attempts) == ("sent", 2)


def test_retries_end_failed_after_the_schedule(db_app, receiver, allow_loopback):
    receiver.script = [503] * 10
    row, _ = _queued(receiver.url)
    now = utcnow()
    waits = []
    for _ in range(6):
        status = delivery.deliver(row.id, now)
        current = _row(row.id)
        if status == "queued":
            waits.append(round((current.next_attempt_at - now).total_seconds() / 60))
            now = current.next_attempt_at
    assert waits == [1, 5, 30, 120, 720]
    assert (status, _row(row.id).attempts, len(receiver.received)) == ("failed", 6, 6)


@pytest.mark.parametrize(("answer", "final"), [(410, "failed"), (400, "failed"), (429, "queued"), (408, "queued")])
def test_4xx_fails_at_once_except_408_and_429(db_app, receiver, allow_loopback, answer, final):
    receiver.script = [answer]
    row, _ = _queued(receiver.url)
    assert delivery.deliver(row.id) == final
    assert _row(row.id).last_status_code == answer


def test_a_redirect_is_not_followed(db_app, receiver, allow_loopback):
    receiver.script = [(302, {"Location": receiver.url + "/elsewhere"})]
    row, _ = _queued(receiver.url)
    assert delivery.deliver(row.id) == "failed"
    assert [r.path for r in receiver.received] == ["/hooks/coachapp"]  # nothing went to the Location
    failed = _row(row.id)
    assert failed.last_status_code == 302 and "not followed" in failed.last_error


def test_a_private_address_is_refused_without_the_setting(db_app, receiver):
    assert db_app.config["WEBHOOKS_ALLOW_PRIVATE"] is False
    row, _ = _queued(receiver.url)
    assert delivery.deliver(row.id) == "failed"
    assert receiver.received == []
    assert "non-public address (127.0.0.1)" in _row(row.id).last_error


def test_a_host_that_resolves_to_localhost_is_refused_too(db_app, receiver):
    row, _ = _queued(receiver.url.replace("127.0.0.1", "localhost"))
    assert delivery.deliver(row.id) == "failed" and receiver.received == []
    assert "Refused" in _row(row.id).last_error


def test_connection_refused_and_timeouts_are_retried(db_app, receiver, allow_loopback, monkeypatch):
    monkeypatch.setitem(db_app.config, "WEBHOOKS_READ_TIMEOUT", 0.5)
    receiver.script = [("sleep", 2)]
    row, _ = _queued(receiver.url)
    assert delivery.deliver(row.id) == "queued"
    assert "timed out" in _row(row.id).last_error.lower()
    closed = make_endpoint(db, "http://127.0.0.1:9/nothing-listens", ["lead.stage_changed"])
    lead_id = row.lead_id
    db.session.execute(update(WebhookDelivery).values(status="sent"))
    db.session.commit()
    from coachapp.models import Lead

    queueing.queue(db.session.get(Lead, lead_id), [("lead.stage_changed", "x", {})], utcnow())
    db.session.commit()
    other = db.session.execute(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == closed.id)).scalar_one()
    assert delivery.deliver(other.id) == "queued"


def test_running_the_task_twice_sends_once(db_app, receiver, allow_loopback):
    from coachapp.tasks.webhooks import deliver_webhook

    row, _ = _queued(receiver.url)
    assert deliver_webhook.run(row.id) == "sent"
    assert deliver_webhook.run(row.id) == "skipped"
    assert len(receiver.received) == 1 and _row(row.id).attempts == 1


def test_a_claim_held_by_another_worker_is_left_alone_until_its_lease_runs_out(db_app, receiver, allow_loopback):
    row, _ = _queued(receiver.url)
    now = utcnow()
    db.session.execute(update(WebhookDelivery).values(status="sending", attempts=1,
                                                      claimed_until=now + timedelta(seconds=60)))
    db.session.commit()
    assert delivery.deliver(row.id, now) == "skipped" and receiver.received == []
    assert queueing.due_for_publishing(now) == []
    later = now + timedelta(seconds=61)
    assert queueing.due_for_publishing(later) == [row.id]  # the sweep hands it to a live worker
    assert delivery.deliver(row.id, later) == "sent" and _row(row.id).attempts == 2


def test_replay_sends_the_same_event_again(db_app, receiver, allow_loopback):
    receiver.script = [410]
    row, _ = _queued(receiver.url)
    assert delivery.deliver(row.id) == "failed"
    queueing.replay(_row(row.id), utcnow())
    db.session.commit()
    replayed = _row(row.id)
    assert (replayed.status, replayed.attempt_base) == ("queued", 1)
    assert delivery.deliver(row.id) == "sent"
    assert delivery.deliver(row.id) == "skipped"
    assert [r.headers["webhook-id"] for r in receiver.received] == [row.message_id] * 2
    queueing.replay(_row(row.id), utcnow())  # a sent one can be replayed too
    db.session.commit()
    with pytest.raises(ValueError, match="sent or failed"):  # …but not one still waiting
        queueing.replay(_row(row.id), utcnow())


def test_a_deactivated_endpoint_gets_nothing_more(db_app, receiver, allow_loopback):
    from coachapp.webhooks_out import endpoints

    row, endpoint = _queued(receiver.url)
    endpoints.set_active(endpoint, False)
    db.session.commit()
    assert delivery.deliver(row.id) == "failed" and receiver.received == []
    assert "deactivated" in _row(row.id).last_error


def test_the_sweep_publishes_what_was_never_published(db_app, receiver, allow_loopback):
    row, _ = _queued(receiver.url)
    db.session.execute(update(WebhookDelivery).values(enqueued_at=None))
    db.session.commit()
    assert queueing.sweep() == [row.id]  # handed to the (filesystem) broker
    assert _row(row.id).enqueued_at is not None
    assert queueing.sweep() == []
