"""Issue 10, point 2: every lead gets an owner and a next step, by the rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.leads.triage import change_stage
from coachapp.models import CoachTask, Lead, LeadEvent
from coachapp.rules_store import get_rules
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_dashboard import coach_with_password

TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/Chicago"))


def _tasks(lead: Lead) -> list[CoachTask]:
    return list(db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead.id)).scalars())


def test_an_assessment_only_lead_is_assigned_and_tasked_per_its_tier(db_app) -> None:
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[],
                                is_owner=True)
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example",
                              services=["mobility_coaching"])
    rules = get_rules()
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com", TUESDAY_10)
    db.session.refresh(lead)
    assert lead.owner_id in (owner.id, sam.id)  # the same round robin as the strategy session
    wants_task = rules.leads.tasks.task_after_assessment(lead.tier, lead.priority_status)
    assert [t.kind for t in _tasks(lead)] == (["first_contact"] if wants_task else [])
    assert any(e.kind == "assignment" for e in db.session.execute(
        select(LeadEvent).where(LeadEvent.lead_id == lead.id)).scalars())


def test_which_tiers_get_a_task_is_the_rules_choice(db_app) -> None:
    coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[], is_owner=True)
    tasks = get_rules().leads.tasks
    assert tasks.task_after_assessment("A1", "normal") and not tasks.task_after_assessment("C3", "normal")
    assert tasks.task_after_assessment("C3", "clinician_first")  # a red flag always needs a human
    quiet = {**DESK_ACHILLES, "goal_event": "none", "race_date": None, "injury_history": "none",
             "injury_areas": None, "desk_hours": "<4", "feels_tight": ["none"]}
    lead = complete_assessment(quiet, "quiet@example.com", TUESDAY_10)
    db.session.refresh(lead)
    assert lead.owner_id is not None
    assert bool(_tasks(lead)) == tasks.task_after_assessment(lead.tier, lead.priority_status)


def test_moving_to_contacted_closes_the_first_contact_task(db_app) -> None:
    coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[], is_owner=True)
    rules = get_rules()
    lead = complete_assessment({**DESK_ACHILLES, "sf_screen": ["exertion_chest"]}, "red@example.com",
                               TUESDAY_10)  # a red flag: always a task
    (task,) = _tasks(lead)
    assert task.status == "open"
    change_stage(rules, lead, "contacted", TUESDAY_10 + timedelta(hours=1), by="Brian")
    db.session.commit()
    db.session.refresh(task)
    assert task.status == "done" and task.completed_at is not None
    summaries = db.session.execute(select(LeadEvent.summary).where(LeadEvent.lead_id == lead.id)).scalars()
    assert any(s.startswith("Task closed (stage contacted)") for s in summaries)


def test_logging_a_call_from_today_reschedules_or_moves_the_lead_on(db_app) -> None:
    from coachapp.leads.actions import log_call

    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[],
                                is_owner=True)
    lead = complete_assessment({**DESK_ACHILLES, "sf_screen": ["exertion_chest"]}, "red@example.com",
                               TUESDAY_10)
    (task,) = _tasks(lead)
    first_due = task.due_at
    log_call(task.id, "no_answer", owner, TUESDAY_10 + timedelta(minutes=5))
    assert task.status == "open" and task.due_at > first_due  # try again in 4 working hours
    voicemail_at = TUESDAY_10 + timedelta(minutes=10)
    log_call(task.id, "voicemail", owner, voicemail_at)
    assert task.due_at >= voicemail_at + timedelta(hours=24)  # 24 working hours: days later
    log_call(task.id, "reached", owner, voicemail_at + timedelta(minutes=5))
    db.session.commit()
    db.session.refresh(lead)
    assert task.status == "done" and lead.stage == "contacted"
    calls = db.session.execute(select(LeadEvent.summary).where(LeadEvent.kind == "call")).scalars().all()
    assert calls == ["Call by Brian Owner: no answer", "Call by Brian Owner: left a voicemail",
                     "Call by Brian Owner: reached"]


def test_the_call_buttons_are_on_today(db_app) -> None:
    from tests.helpers_dashboard import sign_in

    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[],
                                is_owner=True)
    complete_assessment({**DESK_ACHILLES, "sf_screen": ["exertion_chest"]}, "red@example.com", TUESDAY_10)
    web = sign_in(db_app, owner)
    html = web.get("/dashboard/").get_data(as_text=True)
    assert 'value="voicemail"' in html and "/call" in html
    task = db.session.execute(select(CoachTask)).scalar_one()
    response = web.post(f"/dashboard/tasks/{task.id}/call", {"outcome": "reached", "next": "/dashboard/"})
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.status == "done"
