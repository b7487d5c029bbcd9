"""From form to inbox with the real parts: a Celery worker process, a broker
(filesystem or Redis), a database (SQLite or PostgreSQL) and an SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.leads.services import Contact
from coachapp.models import OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.conftest import Browserish, dispose
from tests.helpers import CONTACT, DESK_ACHILLES, walk_assessment
from tests.integration.conftest import app_for, wait_until

pytestmark = pytest.mark.integration


def _only_message() -> OutboxMessage:
    db.session.expire_all()
    return db.session.execute(select(OutboxMessage)).scalar_one()


def test_plan_email_arrives_once_even_if_the_task_runs_twice(stack, smtp):
    stack.start_worker()
    with stack.app.app_context():
        web = Browserish(stack.app.test_client())
        token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
        received = smtp.wait_for(1)
        assert len(received) == 1, "".join(stack.logs[0][-30:])
        mail = received[0]
        assert mail["To"] == "Dana.Runner@example.com"
        assert "Ankle dorsiflexion" in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert f"http://coach.test/assessment/{token}/results" in text
        assert "Your week" in html and "Ankle dorsiflexion" in html
        message = _only_message()
        assert wait_until(lambda: _only_message().status == "sent")
        # The task is delivered twice more (a redelivery, a double publish): still one email.
        outbox.publish([message.id, message.id])
        assert not wait_until(lambda: len(smtp.messages) > 1, timeout=3)
        row = _only_message()
        assert (row.status, row.attempts, row.transport) == ("sent", 1, "smtp")


def test_broker_outage_delays_the_email_but_never_loses_it(stack, smtp):
    dead_broker = app_for({**stack.env, "REDIS_URL": "redis://127.0.0.1:9/0"})
    with dead_broker.app_context():
        web = Browserish(dead_broker.test_client())
        walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)  # succeeds despite the outage
    dispose(dead_broker)
    stack.start_worker()
    with stack.app.app_context():
        row = _only_message()
        assert (row.status, row.enqueued_at) == ("queued", None)
        assert smtp.messages == []
        assert outbox.sweep() == [row.id]  # what beat does every minute
        assert len(smtp.wait_for(1)) == 1
        assert wait_until(lambda: _only_message().status == "sent")


def test_temporary_smtp_failure_is_retried_with_backoff(stack, smtp):
    smtp.fail_next("451 4.3.0 Mailbox busy, try later")
    stack.start_worker()
    with stack.app.app_context():
        web = Browserish(stack.app.test_client())
        walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
        assert wait_until(lambda: _only_message().attempts == 1
                          and _only_message().status == "queued")
        row = _only_message()
        assert "451" in row.last_error
        assert row.next_attempt_at > utcnow() + timedelta(seconds=30)
        assert outbox.sweep() == []  # not due yet
        # Time passes: make it due, and the sweep hands it to the worker again.
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert outbox.sweep() == [row.id]
        assert len(smtp.wait_for(1)) == 1
        assert wait_until(lambda: _only_message().status == "sent")
        assert _only_message().attempts == 2


def test_two_workers_many_emails_each_exactly_once(stack, smtp):
    from coachapp.leads.services import upsert_lead

    with stack.app.app_context():
        ids = []
        for n in range(30):
            lead, _ = upsert_lead(Contact(f"R{n}", f"runner{n}@example.com", True, False), {}, utcnow())
            message = outbox.queue_email(
                purpose_key=f"load:{n}", kind="test", to=lead.email_display,
                template="assessment_clinician", lead_id=lead.id, first_name=lead.first_name,
                result={"safety": {"fired": []}}, results_url="http://coach.test/r",
                business_name="Motive", business_address="Austin")
            ids.append(message.id)
        db.session.commit()
        stack.start_worker()
        stack.start_worker()
        outbox.publish(ids + ids)  # every message published twice
        received = smtp.wait_for(30, timeout=60)
        assert not wait_until(lambda: len(smtp.messages) > 30, timeout=3)
        recipients = sorted(str(m["To"]) for m in received)
        assert recipients == sorted(f"runner{n}@example.com" for n in range(30))
        db.session.expire_all()
        statuses = set(db.session.execute(select(OutboxMessage.status)).scalars())
        assert statuses == {"sent"}


def test_strategy_session_sends_confirmation_and_coach_brief(stack, smtp):
    from tests.helpers_strategy import QUICK_FORM, make_coach

    stack.start_worker()
    with stack.app.app_context():
        make_coach(db)
        web = Browserish(stack.app.test_client())
        token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
        web.get(f"/strategy-session?from_assessment={token}")
        response = web.post("/strategy-session", {**QUICK_FORM, "assessment_token": token})
        assert response.status_code == 302
        received = smtp.wait_for(3)  # the plan, the confirmation, the coach's brief
        assert len(received) == 3, "".join(stack.logs[0][-30:])
        by_recipient: dict[str, list] = {}
        for mail in received:
            by_recipient.setdefault(str(mail["To"]), []).append(mail)
        coach_mail = by_recipient["sam@motive.example"][0]
        brief = coach_mail.get_body(("plain",)).get_content()
        assert "New strategy session: Dana" in coach_mail["Subject"]
        for text in ("TALKING POINTS", "RUNNER ASSESSMENT", "Ankle dorsiflexion", "Austin Marathon"):
            assert text in brief, text
        subjects = sorted(str(m["Subject"]) for m in by_recipient["Dana.Runner@example.com"])
        assert any("here's what happens next" in s for s in subjects)
        assert any("mobility plan" in s for s in subjects)


def test_a_retakes_plan_email_carries_the_comparison(stack, smtp):
    """Issue 14.1: the returning runner's plan email, delivered by the worker over SMTP, says
    what changed since last time, judged against each test's measurement error."""
    from tests.helpers import CORE, complete_assessment

    stack.start_worker()
    with stack.app.app_context():
        complete_assessment({**CORE, "ktw_left_cm": 7, "ktw_right_cm": 7.5}, CONTACT["email"],
                            now=utcnow() - timedelta(days=42))
        web = Browserish(stack.app.test_client())
        walk_assessment(web, get_rules(), {**CORE, "ktw_left_cm": 11, "ktw_right_cm": 8}, CONTACT)
        received = smtp.wait_for(2)
        assert len(received) == 2, "".join(stack.logs[0][-30:])
        retake = next(m for m in received if "SINCE YOUR LAST" in m.get_body(("plain",)).get_content())
        text = retake.get_body(("plain",)).get_content()
        html = retake.get_body(("html",)).get_content()
        assert "Left: 7 cm → 11 cm, improved by 4 cm" in text
        assert "Right: 7.5 cm → 8 cm, within measurement error" in text
        assert "Since your last assessment on" in html and "within measurement error" in html
