"""Intake service with the database: round robin, fallback owner, due times in the
coach's working hours and time zone, re-tiering on new information."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.leads.intake import StrategyIntake, normalize_phone, submit
from coachapp.models import CoachTask, Lead
from coachapp.rules_store import get_rules
from tests.helpers_strategy import make_coach

CHICAGO = ZoneInfo("America/Chicago")


def intake(n: int = 0, **overrides) -> StrategyIntake:
    values = dict(first_name=f"Runner{n}", email=f"runner{n}@example.com", goals="Run pain-free.",
                  running_history="2-5", services=["mobility_coaching"], delivery="online",
                  preferred_contact="email", time_zone="America/New_York", start_timing="within_month")
    values.update(overrides)
    return StrategyIntake(**values)


def test_round_robin_is_fair_across_coaches(db_app):
    coaches = [make_coach(db, name=f"Coach {i}", email=f"c{i}@motive.example") for i in range(3)]
    make_coach(db, name="Away", email="away@motive.example", active=False)
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    owners = []
    for n in range(9):
        outcome = submit(get_rules(), intake(n), {}, now + timedelta(minutes=n))
        owners.append(outcome.coach.id)
        db.session.commit()
    assert Counter(owners) == {c.id: 3 for c in coaches}
    assert owners[:3] == [c.id for c in coaches]  # in rotation, least recently assigned first


def test_service_nobody_covers_falls_back_to_the_owner(db_app):
    make_coach(db, name="Mo Bility", email="mo@motive.example", services=["mobility_coaching"])
    owner = make_coach(db, name="Brian Owner", email="brian@motive.example", services=[], is_owner=True)
    outcome = submit(get_rules(), intake(services=["kinstretch"]), {}, datetime(2026, 11, 23, 15, tzinfo=UTC))
    assert outcome.coach.id == owner.id
    lead = db.session.get(Lead, outcome.lead.id)
    assert lead.owner_id == owner.id


def test_in_person_needs_an_in_person_coach(db_app):
    make_coach(db, name="Online Only", email="online@motive.example", in_person=False)
    in_person = make_coach(db, name="Gym Floor", email="gym@motive.example", online=False)
    outcome = submit(get_rules(), intake(delivery="in_person", in_area=True), {},
                     datetime(2026, 11, 23, 15, tzinfo=UTC))
    assert outcome.coach.id == in_person.id


def test_due_time_skips_the_weekend_in_the_coachs_time_zone(db_app):
    make_coach(db)  # Mon–Fri 09:00–17:00 America/Chicago
    friday_4pm = datetime(2026, 11, 20, 16, 0, tzinfo=CHICAGO).astimezone(UTC)
    urgent = intake(race_date=date(2026, 11, 20) + timedelta(weeks=12), start_timing="asap",
                    delivery="in_person", in_area=True, dealing_with=["pain"])
    outcome = submit(get_rules(), urgent, {}, friday_4pm)
    minutes = outcome.priority.sla_working_minutes
    assert minutes is not None
    task = db.session.execute(select(CoachTask)).scalar_one()
    local_due = task.due_at.astimezone(CHICAGO)
    assert local_due.weekday() == 0  # Monday: no one calls on Saturday
    worked_friday = 60
    assert local_due.replace(tzinfo=None) == datetime(2026, 11, 23, 9, 0) + timedelta(minutes=minutes - worked_friday)


def test_second_request_re_tiers_and_keeps_one_open_task(db_app):
    make_coach(db)
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    first = submit(get_rules(), intake(start_timing="exploring"), {}, now)
    db.session.commit()
    first_tier, first_due = first.lead.tier, first.task.due_at if first.task else None
    second = submit(get_rules(), intake(start_timing="asap", dealing_with=["pain", "injury"],
                                        race_date=date(2026, 11, 23) + timedelta(weeks=10)),
                    {}, now + timedelta(hours=1))
    db.session.commit()
    assert second.lead.id == first.lead.id
    assert second.priority.urgency > first.priority.urgency
    tasks = db.session.execute(select(CoachTask).where(CoachTask.status == "open")).scalars().all()
    assert len(tasks) == 1
    if first_due is not None and second.lead.tier < first_tier:
        assert tasks[0].due_at <= first_due


def test_phone_numbers_are_stored_in_e164():
    assert normalize_phone("(512) 555-0143") == "+15125550143"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("") is None


def test_stage_change_re_tiers_and_closing_cancels_open_tasks(db_app):
    from coachapp.leads.triage import change_stage
    from coachapp.models import LeadEvent

    make_coach(db)
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    outcome = submit(get_rules(), intake(), {}, now)
    db.session.commit()
    lead = outcome.lead
    priority = change_stage(get_rules(), lead, "session_booked", now + timedelta(hours=1), by="Sam")
    assert lead.engagement_score >= outcome.priority.engagement  # booking is engagement
    assert priority.status != "closed"
    task = db.session.execute(select(CoachTask)).scalar_one()
    assert task.status == "done"  # booked: the first contact happened (rules: tasks.close_on_stage)
    priority = change_stage(get_rules(), lead, "client", now + timedelta(days=3))
    db.session.commit()
    assert (priority.status, priority.sla_working_minutes, lead.priority_status) == ("closed", None, "closed")
    summaries = db.session.execute(select(LeadEvent.summary).where(LeadEvent.kind == "stage")).scalars().all()
    assert summaries == ["Moved from new to session booked by Sam", "Moved from session booked to client"]


def test_unknown_stage_is_refused(db_app):
    import pytest

    from coachapp.leads.triage import change_stage

    outcome = submit(get_rules(), intake(), {}, datetime(2026, 11, 23, 15, tzinfo=UTC))
    with pytest.raises(ValueError, match="unknown stage"):
        change_stage(get_rules(), outcome.lead, "won", datetime(2026, 11, 23, 16, tzinfo=UTC))
