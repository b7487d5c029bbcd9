"""The hold under concurrency (two threads on PostgreSQL), the unique index itself, one
booking per lead, reminders (due times, never after a cancel, never twice), and Today's
attended / no-show buttons."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coachapp.extensions import db
from coachapp.followups.session_reminders import send_session_reminders
from coachapp.leads import scheduling
from coachapp.leads.services import Contact, upsert_lead
from coachapp.models import Booking, Enrollment, Lead, OutboxMessage, SequenceStep
from coachapp.rules_store import get_rules
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_strategy import make_coach
from tests.sessions.helpers import ALWAYS, emails

NOW = datetime(2030, 3, 4, 18, 0, tzinfo=UTC)  # Monday, midday in Chicago


def _lead(coach, email: str, name: str = "Dana") -> Lead:
    lead, _ = upsert_lead(Contact(first_name=name, email=email, consent_health=False, consent_marketing=None,
                                  time_zone="America/Chicago"), {}, NOW)
    lead.owner_id = coach.id
    db.session.commit()
    return lead


def _slot(coach, n: int = 0) -> datetime:
    lead = db.session.execute(select(Lead).where(Lead.owner_id == coach.id)).scalars().first()
    return scheduling.offer(get_rules(), lead, NOW).days[1].slots[n].start


@pytest.mark.parametrize("case", ["two runners, one slot", "one runner tapping two slots"])
def test_two_concurrent_requests_one_wins(app, database_url, case):
    """Two leads after one slot (the coach+start index), or one lead's double tap on two slots
    (the one-booking-per-lead index): both see it free, both write, exactly one booking."""
    if not database_url.startswith("postgresql"):
        pytest.skip("real concurrency: PostgreSQL (SQLite has one writer at a time)")
    from tests.conftest import clean_tables

    clean_tables(app)
    with app.app_context():
        coach = make_coach(db, working_hours=ALWAYS)
        leads = [_lead(coach, f"runner{i}@example.com").id for i in range(2)]
        starts = [_slot(coach), _slot(coach)] if case.startswith("two") else [_slot(coach, 0), _slot(coach, 4)]
        if not case.startswith("two"):
            leads = [leads[0], leads[0]]
        db.session.remove()
    barrier, results = threading.Barrier(2), {}

    def attempt(index: int) -> None:
        lead_id, start = leads[index], starts[index]
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            barrier.wait()  # both read the slot as free, then both write
            try:
                scheduling.book(get_rules(), lead, start, NOW)
                db.session.commit()
                results[index] = "booked"
            except scheduling.SlotTaken:
                db.session.rollback()
                results[index] = "taken"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results.values()) == ["booked", "taken"], results
    with app.app_context():
        assert len(db.session.execute(select(Booking)).scalars().all()) == 1
        db.session.remove()
    clean_tables(app)


def test_the_unique_index_holds_a_slot_and_a_cancelled_one_frees_it(db_app):
    coach = make_coach(db, working_hours=ALWAYS)
    a, b = _lead(coach, "a@example.com"), _lead(coach, "b@example.com")
    start = _slot(coach)

    def row(lead, status="booked"):
        return Booking(lead_id=lead.id, provider="coachapp", uid=f"u-{lead.id}-{status}", coach_id=coach.id,
                       start_at=start, end_at=start + timedelta(minutes=30), status=status)

    db.session.add(row(a))
    db.session.commit()
    db.session.add(row(b))  # straight past the service's check: the database refuses it
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.execute(select(Booking)).scalar_one().status = "cancelled"
    db.session.add(row(b))
    db.session.commit()  # a cancelled booking holds nothing


def test_booking_again_moves_the_one_booking(db_app):
    coach = make_coach(db, working_hours=ALWAYS)
    lead = _lead(coach, "a@example.com")
    first = scheduling.book(get_rules(), lead, _slot(coach, 0), NOW)
    db.session.commit()
    second = scheduling.book(get_rules(), lead, _slot(coach, 4), NOW)
    db.session.commit()
    assert first.id == second.id and second.sequence == 1
    assert len(db.session.execute(select(Booking)).scalars().all()) == 1


def _reminders(at: datetime) -> list[OutboxMessage]:
    send_session_reminders(get_rules(), at)
    db.session.commit()
    return emails("session_reminder")


def test_reminders_a_day_and_an_hour_before_once_each_and_none_after_cancel(db_app):
    coach = make_coach(db, working_hours=ALWAYS)
    lead = _lead(coach, "a@example.com")
    offer = scheduling.offer(get_rules(), lead, NOW)
    start = next(s.start for d in offer.days[2:] for s in d.slots if s.label == "3:00 pm")  # Chicago afternoon
    booking = scheduling.book(get_rules(), lead, start, NOW)
    db.session.commit()
    assert _reminders(start - timedelta(hours=25)) == []
    day = _reminders(start - timedelta(hours=24) + timedelta(minutes=1))
    assert len(day) == 1 and "Reminder: your strategy session" in day[0].subject and day[0].ics is None
    assert len(_reminders(start - timedelta(hours=20))) == 1  # the sweep again: not twice
    hour = _reminders(start - timedelta(minutes=59))
    assert len(hour) == 2 and "In an hour" in hour[1].subject
    assert len(_reminders(start - timedelta(minutes=30))) == 2
    # a second session, cancelled: no reminders at all
    other = _lead(coach, "b@example.com", "Lee")
    later = start + timedelta(days=1)
    moved = scheduling.book(get_rules(), other, later, NOW)
    scheduling.cancel(get_rules(), moved, NOW)
    db.session.commit()
    assert len(_reminders(later - timedelta(minutes=59))) == 2
    assert booking.status == "booked"


def test_today_lists_sessions_with_attended_and_no_show(db_app):
    coach = coach_with_password(db, working_hours=ALWAYS)
    ana, ben = _lead(coach, "ana@example.com", "Ana"), _lead(coach, "ben@example.com", "Ben")
    now = datetime.now(UTC)
    for lead, minutes in ((ana, 40), (ben, 70)):  # both started already
        start = now - timedelta(minutes=minutes)
        db.session.add(Booking(lead_id=lead.id, provider="coachapp", uid=f"t-{lead.id}", coach_id=coach.id,
                               start_at=start, end_at=start + timedelta(minutes=30), status="booked",
                               stage_before="new"))
        lead.stage = "session_booked"
    db.session.commit()
    web = sign_in(db_app, coach)
    page = web.get("/dashboard/").get_data(as_text=True)
    assert "Strategy sessions" in page and page.count('value="attended"') == 2 and 'value="no_show"' in page
    ids = {b.lead_id: b.id for b in db.session.execute(select(Booking)).scalars()}
    assert web.post(f"/dashboard/sessions/{ids[ana.id]}/outcome", {"outcome": "attended"}).status_code == 302
    assert web.post(f"/dashboard/sessions/{ids[ben.id]}/outcome", {"outcome": "no_show"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Lead, ana.id).stage == "session_held"
    assert db.session.get(Lead, ben.id).stage == "no_show"
    statuses = {b.lead_id: b.status for b in db.session.execute(select(Booking)).scalars()}
    assert statuses == {ana.id: "held", ben.id: "no_show"}
    enrolled = db.session.execute(select(Enrollment.sequence_id).where(Enrollment.lead_id == ben.id)).scalars().all()
    assert "no_show" in enrolled  # the no-show sequence started, as the dashboard's stage move does
    assert db.session.execute(select(SequenceStep).where(SequenceStep.lead_id == ben.id)).first()
    assert 'value="attended"' not in web.get("/dashboard/").get_data(as_text=True)
    # without the CSRF token: refused
    raw = db_app.test_client()
    assert raw.post(f"/dashboard/sessions/{ids[ana.id]}/outcome", data={"outcome": "attended"}).status_code in (
        302, 400, 401, 403)


def test_the_beat_sweep_sends_session_reminders(db_app):
    """``followups.sweep`` (beat, every minute) runs the session reminders with the rest, and commits."""
    from coachapp.models import utcnow
    from coachapp.tasks.followups import sweep_followups

    coach = make_coach(db, working_hours=ALWAYS)
    lead = _lead(coach, "a@example.com")
    now = utcnow()
    start = now + timedelta(minutes=45)  # imminent: the hour-before reminder is due at once
    db.session.add(Booking(lead_id=lead.id, provider="coachapp", uid="sweep-1", coach_id=coach.id, start_at=start,
                           end_at=start + timedelta(minutes=30), status="booked", created_at=now - timedelta(days=2),
                           updated_at=now - timedelta(days=2)))
    db.session.commit()
    counts = sweep_followups()
    assert counts["sessions"] == 1  # due (and queued once)
    db.session.expire_all()
    reminder = emails("session_reminder")[0]
    assert reminder.purpose_key.endswith(":hour") and "In an hour" in reminder.subject
    sweep_followups()
    assert len(emails("session_reminder")) == 1  # once per purpose
