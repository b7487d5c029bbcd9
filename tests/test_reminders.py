"""Coach reminders: due, overdue escalation to the owner, the morning digest — each exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from coachapp.dashboard import today
from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.followups import reminders
from coachapp.leads import worklist
from coachapp.leads.actions import add_note
from coachapp.leads.intake import StrategyIntake, submit
from coachapp.models import CoachTask, Lead, OutboxMessage
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


TUESDAY_7_LONDON = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # London = UTC in November


def _lee(**overrides):
    return make_coach(db, **{"name": "Lee London", "email": "lee@motive.example", "time_zone": "Europe/London",
                             **overrides})


def _lead_with_task(first_name: str, due_at: datetime, owner) -> tuple[Lead, CoachTask]:
    """A strategy-session request (stage "new", untouched) owned by ``owner``, its task due at ``due_at``."""
    intake = StrategyIntake(first_name=first_name, email=f"{first_name.lower()}@example.com", goals="Run pain-free.",
                            running_history="2-5", services=["mobility_coaching"], delivery="online",
                            preferred_contact="email", time_zone="America/Chicago", start_timing="asap")
    outcome = submit(get_rules(), intake, {}, MONDAY_10_CHICAGO)
    outcome.lead.owner_id = owner.id
    outcome.task.coach_id, outcome.task.due_at = owner.id, due_at
    outbox.commit()
    return outcome.lead, outcome.task


def _digest_count() -> int:
    return db.session.execute(select(func.count()).where(OutboxMessage.kind == "coach_digest")).scalar_one()


def test_daily_digest_in_the_coachs_local_morning_once_a_day(db_app):
    london = _lee()
    _request(MONDAY_10_CHICAGO)  # Lee gets the lead (only coach) and its task
    task = db.session.execute(select(CoachTask)).scalar_one()
    task.due_at = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday afternoon
    db.session.commit()
    six_59 = TUESDAY_7_LONDON - timedelta(minutes=1)
    assert reminders.send_digests(six_59) == 0
    assert reminders.send_digests(TUESDAY_7_LONDON) == 1
    outbox.commit()
    assert reminders.send_digests(six_59 + timedelta(hours=3)) == 0  # once a day
    digest = _mails("coach_digest")
    assert [m.to_address for m in digest] == [london.email]
    assert digest[0].purpose_key == f"digest:{london.id}:2026-11-24" and digest[0].lead_id is None
    assert "Due today (1)" in digest[0].html_body and "DUE TODAY (1)" in digest[0].text_body
    assert digest[0].subject == "Your day: 1 due today"
    task.status = "done"
    db.session.commit()
    reminders.send_digests(TUESDAY_7_LONDON + timedelta(days=1))
    outbox.commit()
    # Nothing due and nothing new on Wednesday (the lead was touched: its task is done): no empty digest.
    assert _digest_count() == 1
    db.session.refresh(london)
    assert london.last_digest_on == date(2026, 11, 25)  # the day is done all the same


def test_digest_lists_overdue_due_today_and_new_as_today_does(db_app):
    lee = _lee()
    dana, _ = _lead_with_task("Dana", datetime(2026, 11, 23, 15, 0, tzinfo=UTC), lee)  # overdue since Monday
    kim, _ = _lead_with_task("Kim", datetime(2026, 11, 24, 15, 0, tzinfo=UTC), lee)  # due this afternoon
    noor, _ = _lead_with_task("Noor", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), lee)  # due next week: new
    rory, _ = _lead_with_task("Rory", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), lee)
    add_note(rory, "Left a voicemail.", lee, MONDAY_10_CHICAGO)  # touched: not new any more
    other = make_coach(db, name="Alex Other", email="alex@motive.example")
    _lead_with_task("Kai", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), other)  # not Lee's
    db.session.commit()
    assert reminders.send_digests(TUESDAY_7_LONDON) == 1
    outbox.commit()
    mail = _mails("coach_digest")[0]
    assert mail.subject == "Your day: 1 overdue, 1 due today, 1 new"
    text = mail.text_body
    overdue, due, new = (text.index(h) for h in ("OVERDUE (1)", "DUE TODAY (1)", "NEW — NOBODY HAS BEEN IN TOUCH"))
    assert overdue < text.index("Dana") < due < text.index("Kim") < new < text.index("Noor")
    assert "Rory" not in text and "Kai" not in text
    assert f"/dashboard/leads/{noor.id}" in text and f"/dashboard/leads/{dana.id}" in mail.html_body
    assert "was due Mon 23 Nov 15:00" in text  # in Lee's zone
    # "New" means what the Today page means by it, from the same clauses.
    board = today.board(lee, TUESDAY_7_LONDON)
    assert [lead.id for _, lead in board.new] == [lead.id for lead in worklist.day_for(lee, TUESDAY_7_LONDON).new]
    assert [lead.id for _, lead in board.new] == [noor.id]
    assert {lead.id for _, lead in board.overdue + board.due_today} == {dana.id, kim.id}


def test_no_digest_on_a_day_off_the_next_working_morning_sends(db_app):
    lee = _lee()  # works Monday to Friday
    weekender = _lee(name="Wren Weekend", email="wren@motive.example",
                     working_hours={"sat": ["08:00-12:00"], "sun": ["08:00-12:00"]})
    _lead_with_task("Dana", datetime(2026, 11, 27, 15, 0, tzinfo=UTC), lee)  # Friday: overdue by Saturday
    _lead_with_task("Kim", datetime(2026, 11, 27, 15, 0, tzinfo=UTC), weekender)
    saturday_7 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    assert reminders.send_digests(saturday_7) == 1  # Wren works Saturdays, Lee does not
    outbox.commit()
    assert [m.to_address for m in _mails("coach_digest")] == [weekender.email]
    db.session.refresh(lee)
    assert lee.last_digest_on is None  # the day off is not used up
    assert reminders.send_digests(saturday_7 + timedelta(days=1)) == 1  # Sunday: Wren again, not Lee
    outbox.commit()
    monday_7 = saturday_7 + timedelta(days=2)
    assert reminders.send_digests(monday_7 - timedelta(minutes=1)) == 0
    assert reminders.send_digests(monday_7) == 1  # Lee's next working morning; Wren's day off
    outbox.commit()
    lee_mails = [m for m in _mails("coach_digest") if m.to_address == lee.email]
    assert [m.purpose_key for m in lee_mails] == [f"digest:{lee.id}:2026-11-30"]
    assert "OVERDUE (1)" in lee_mails[0].text_body


def test_a_coach_without_own_hours_follows_the_business_week(db_app):
    lee = _lee(working_hours={})  # rules/leads/assignment.yaml: Monday to Friday
    _lead_with_task("Dana", datetime(2026, 11, 27, 15, 0, tzinfo=UTC), lee)
    assert reminders.send_digests(datetime(2026, 11, 28, 7, 0, tzinfo=UTC)) == 0  # Saturday
    assert reminders.send_digests(datetime(2026, 11, 30, 7, 0, tzinfo=UTC)) == 1  # Monday


def test_digest_is_a_morning_email_at_the_configured_hour(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "DIGEST_HOUR", 8)
    lee = _lee()
    _lead_with_task("Dana", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), lee)  # new
    assert reminders.send_digests(datetime(2026, 11, 24, 7, 59, tzinfo=UTC)) == 0
    assert reminders.send_digests(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == 0  # the sweep was down all morning
    assert reminders.send_digests(datetime(2026, 11, 25, 11, 59, tzinfo=UTC)) == 1  # a late sweep, still morning
    outbox.commit()
    mail = _mails("coach_digest")[0]
    assert mail.subject == "Your day: 1 new"
    for body in (mail.html_body, mail.text_body):
        assert "sent at 08:00 your time (Europe/London) on your working days" in body
        assert "07:00" not in body


def test_no_digest_when_nothing_is_overdue_due_or_new(db_app):
    lee = _lee()
    lead, task = _lead_with_task("Dana", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), lee)
    lead.stage = "contacted"  # not new; its task is next week
    db.session.commit()
    assert reminders.send_digests(TUESDAY_7_LONDON) == 0
    assert _digest_count() == 0
