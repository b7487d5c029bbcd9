"""Coach reminders: due, overdue escalation to the owner, the 07:00 digest — each exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.followups import reminders
from coachapp.leads.intake import StrategyIntake, submit
from coachapp.models import CoachTask, OutboxMessage
from coachapp.rules_store import get_rules
from tests.helpers_strategy import make_coach

MONDAY_10_CHICAGO = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


def _request(now: datetime):
    intake = StrategyIntake(first_name="Dana", email="dana@example.com", goals="Run pain-free.",
                            running_history="2-5", services=["mobility_coaching"], delivery="online",
                            preferred_contact="email", time_zone="America/Chicago", start_timing="asap")
    outcome = submit(get_rules(), intake, {}, now)
    outbox.commit()
    return outcome


def _mails(kind: str) -> list[OutboxMessage]:
    return db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == kind)).scalars().all()


def test_due_reminder_goes_to_the_coach_once(db_app):
    sam = make_coach(db)
    task = _request(MONDAY_10_CHICAGO).task
    assert reminders.remind_due(task.due_at - timedelta(minutes=1)) == 0
    assert reminders.remind_due(task.due_at) == 1
    outbox.commit()
    assert reminders.remind_due(task.due_at + timedelta(minutes=5)) == 0  # already reminded
    mails = _mails("task_due")
    assert [m.to_address for m in mails] == [sam.email]
    assert task.title in mails[0].subject


def test_overdue_task_is_escalated_to_the_owner_after_the_configured_time(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "ESCALATE_AFTER_MINUTES", 120)
    make_coach(db)
    owner = make_coach(db, name="Brian Owner", email="brian@motive.example", services=[], is_owner=True)
    task = _request(MONDAY_10_CHICAGO).task
    assert reminders.escalate_overdue(task.due_at + timedelta(minutes=119)) == 0
    assert reminders.escalate_overdue(task.due_at + timedelta(minutes=121)) == 1
    outbox.commit()
    assert reminders.escalate_overdue(task.due_at + timedelta(hours=5)) == 0
    assert [m.to_address for m in _mails("task_overdue")] == [owner.email]
    db.session.refresh(task)
    assert task.escalated_at is not None


def test_done_tasks_are_never_reminded(db_app):
    make_coach(db)
    task = _request(MONDAY_10_CHICAGO).task
    task.status = "done"
    db.session.commit()
    assert reminders.remind_due(task.due_at + timedelta(hours=1)) == 0
    assert reminders.escalate_overdue(task.due_at + timedelta(days=2)) == 0


def test_daily_digest_at_seven_in_the_coachs_zone_once_a_day(db_app):
    london = make_coach(db, name="Lee London", email="lee@motive.example", time_zone="Europe/London")
    _request(MONDAY_10_CHICAGO)  # Lee gets the lead (only coach) and its task
    task = db.session.execute(select(CoachTask)).scalar_one()
    task.due_at = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday afternoon
    db.session.commit()
    six_59 = datetime(2026, 11, 24, 6, 59, tzinfo=UTC)  # London = UTC in November
    assert reminders.send_digests(six_59) == 0
    assert reminders.send_digests(six_59 + timedelta(minutes=1)) == 1
    outbox.commit()
    assert reminders.send_digests(six_59 + timedelta(hours=3)) == 0  # once a day
    digest = _mails("coach_digest")
    assert [m.to_address for m in digest] == [london.email]
    assert "Today's calls" in digest[0].html_body or "TODAY'S CALLS" in digest[0].text_body
    assert "1 to call" in digest[0].subject
    next_day = six_59 + timedelta(days=1, minutes=1)
    task.status = "done"
    db.session.commit()
    reminders.send_digests(next_day)
    outbox.commit()
    # Nothing due and no new leads on Wednesday: no empty digest.
    assert db.session.execute(select(func.count()).where(OutboxMessage.kind == "coach_digest")).scalar_one() == 1
