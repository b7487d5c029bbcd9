"""Working a day of leads: access on every lead URL, the lead page and its actions,
Today's tasks, the pipeline and the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads.assessments import complete, save_step_all, start
from coachapp.leads.intake import StrategyIntake, submit
from coachapp.leads.services import Contact
from coachapp.models import AssessmentSubmission, CoachTask, Lead, LeadEvent, OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.helpers import DESK_ACHILLES
from tests.helpers_dashboard import coach_with_password, sign_in


@pytest.fixture
def team(db_app):
    """An owner and two coaches; Dana (Sam's, with an assessment) and Kim (Alex's)."""
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[], is_owner=True)
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example", services=["mobility_coaching"])
    alex = coach_with_password(db, name="Alex Kin", email="alex@motive.example", services=["kinstretch"])
    now = utcnow()
    rules = get_rules()
    submission = start({}, now)
    save_step_all(rules, submission, DESK_ACHILLES, now)
    complete(rules, submission, Contact("Dana", "dana@example.com", True, True), now)
    base = dict(goals="Run pain-free.", running_history="2-5", delivery="online", preferred_contact="email",
                time_zone="America/Chicago", start_timing="asap")
    dana = submit(rules, StrategyIntake(first_name="Dana", email="dana@example.com",
                                        services=["mobility_coaching"], **base), {}, now).lead
    kim = submit(rules, StrategyIntake(first_name="Kim", email="kim@example.com", services=["kinstretch"], **base),
                 {}, now).lead
    db.session.commit()
    assert (dana.owner_id, kim.owner_id) == (sam.id, alex.id)
    return {"owner": owner, "sam": sam, "alex": alex, "dana": dana, "kim": kim}


LEAD_URLS = [
    ("get", "/dashboard/leads/{id}", {}),
    ("get", "/dashboard/leads/{id}/export.json", {}),
    ("post", "/dashboard/leads/{id}/note", {"text": "sneaky"}),
    ("post", "/dashboard/leads/{id}/stage", {"stage": "lost"}),
    ("post", "/dashboard/leads/{id}/assign", {"coach_id": "2"}),
    ("post", "/dashboard/leads/{id}/replied", {}),
    ("post", "/dashboard/leads/{id}/erase", {"confirm": "ERASE"}),
]


@pytest.mark.parametrize("method, url, data", LEAD_URLS)
def test_a_coach_cannot_open_change_or_export_another_coachs_lead(db_app, team, method, url, data):
    web = sign_in(db_app, team["sam"])
    web.get("/dashboard/")
    target = url.format(id=team["kim"].id)
    response = web.get(target) if method == "get" else web.post(target, data)
    assert response.status_code == 404
    kim = db.session.get(Lead, team["kim"].id)
    db.session.refresh(kim)
    assert (kim.stage, kim.owner_id, kim.replied_at, kim.erased_at) == ("new", team["alex"].id, None, None)
    assert not db.session.execute(select(LeadEvent).where(LeadEvent.kind == "note")).first()


def test_another_coachs_task_cannot_be_touched(db_app, team):
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == team["kim"].id)).scalar_one()
    web = sign_in(db_app, team["sam"])
    web.get("/dashboard/")
    web.post(f"/dashboard/tasks/{task.id}/complete", {})
    db.session.refresh(task)
    assert task.status == "open"


def test_the_lead_page_tells_the_whole_story(db_app, team):
    web = sign_in(db_app, team["sam"])
    html = web.get(f"/dashboard/leads/{team['dana'].id}").get_data(as_text=True)
    for text in ("dana@example.com", "Health data", "Agreed to the use of their health answers", "Region scores",
                 "Ankle dorsiflexion", "Knee-to-wall 8 cm", "Plan sent", "Strategy session request", "Run pain-free.",
                 f"Why {team['dana'].tier}", "Timeline", "Assessment", "Session request", "Owner",
                 "Mark replied", "Export data (JSON)"):
        assert text in html, text
    assert "Erase personal data" not in html  # owner only
    # Answers as the runner saw them: the question's text and the option's label, not ids.
    assert "<dt>How old are you?</dt><dd>30–39</dd>" in html
    assert "<dt>Does any of this apply to you?</dt><dd>None of these</dd>" in html
    assert "<dt>Knee-to-wall, left foot: toe-to-wall distance</dt><dd>8 cm</dd>" in html
    assert "<dt>age_band</dt>" not in html


def test_note_stage_assign_and_replied_land_on_the_timeline(db_app, team):
    lead_id = team["dana"].id
    web = sign_in(db_app, team["sam"])
    web.get(f"/dashboard/leads/{lead_id}")
    assert web.post(f"/dashboard/leads/{lead_id}/note", {"text": "Called, left a voicemail."}).status_code == 302
    assert web.post(f"/dashboard/leads/{lead_id}/stage", {"stage": "contacted"}).status_code == 302
    web.post(f"/dashboard/leads/{lead_id}/replied", {})
    bad = web.post(f"/dashboard/leads/{lead_id}/stage", {"stage": "won"}, follow_redirects=True)
    assert "Choose a stage from the list." in bad.get_data(as_text=True)
    empty = web.post(f"/dashboard/leads/{lead_id}/note", {"text": "  "}, follow_redirects=True)
    assert "Write something first." in empty.get_data(as_text=True)
    refused = web.post(f"/dashboard/leads/{lead_id}/assign", {"coach_id": str(team["alex"].id)},
                       follow_redirects=True)
    assert "only the owner assigns" in refused.get_data(as_text=True)
    lead = db.session.get(Lead, lead_id)
    db.session.refresh(lead)
    assert lead.stage == "contacted" and lead.replied_at is not None and lead.owner_id == team["sam"].id
    kinds = db.session.execute(select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id)).scalars().all()
    assert {"note", "stage", "replied"} <= set(kinds)
    html = web.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True)
    assert "Called, left a voicemail." in html and "Moved from new to contacted by Sam Mobility" in html


def test_owner_assigns_and_tasks_follow(db_app, team):
    lead_id = team["dana"].id
    web = sign_in(db_app, team["owner"])
    web.get(f"/dashboard/leads/{lead_id}")
    web.post(f"/dashboard/leads/{lead_id}/assign", {"coach_id": str(team["alex"].id)})
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead_id)).scalar_one()
    db.session.refresh(task)
    assert task.coach_id == team["alex"].id
    assert db.session.get(Lead, lead_id).owner_id == team["alex"].id


def test_export_holds_everything_about_the_person(db_app, team):
    web = sign_in(db_app, team["sam"])
    response = web.get(f"/dashboard/leads/{team['dana'].id}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="lead-{team["dana"].id}.json"'
    data = json.loads(response.get_data(as_text=True))
    assert data["lead"]["email"] == "dana@example.com"
    assert data["assessments"][0]["answers"]["ktw_left_cm"] == 8
    assert data["strategy_requests"][0]["answers"]["goals"] == "Run pain-free."
    assert len(data["emails"]) == 3 and data["timeline"]


def test_erasure_removes_personal_data_and_keeps_an_audit_record(db_app, team):
    lead_id = team["dana"].id
    coach_view = sign_in(db_app, team["sam"])
    coach_view.get(f"/dashboard/leads/{lead_id}")
    refused = coach_view.post(f"/dashboard/leads/{lead_id}/erase", {"confirm": "ERASE"}, follow_redirects=True)
    assert "Only the owner can erase" in refused.get_data(as_text=True)
    web = sign_in(db_app, team["owner"])
    web.get(f"/dashboard/leads/{lead_id}")
    assert web.post(f"/dashboard/leads/{lead_id}/erase", {"confirm": "erase?"}).status_code == 302
    assert db.session.get(Lead, lead_id).erased_at is None  # needs the exact word
    assert web.post(f"/dashboard/leads/{lead_id}/erase", {"confirm": "ERASE"}).status_code == 302
    db.session.expire_all()
    lead = db.session.get(Lead, lead_id)
    assert lead.erased_at is not None and lead.email == f"erased-{lead_id}@erased.invalid"
    assert (lead.first_name, lead.phone, lead.consent_health_at) == (None, None, None)
    for model in (AssessmentSubmission, OutboxMessage, CoachTask):
        assert db.session.execute(select(func.count()).where(model.lead_id == lead_id)).scalar_one() == 0
    events = db.session.execute(select(LeadEvent).where(LeadEvent.lead_id == lead_id)).scalars().all()
    assert [e.kind for e in events] == ["erased"] and "Brian Owner" in events[0].summary
    assert web.get(f"/dashboard/leads/{lead_id}").status_code == 404


def test_today_lists_overdue_first_and_acts_on_tasks(db_app, team):
    sam = team["sam"]
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == team["dana"].id)).scalar_one()
    task.due_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    web = sign_in(db_app, sam)
    html = web.get("/dashboard/").get_data(as_text=True)
    assert "overdue" in html and "Dana" in html and "Kim" not in html
    web.post(f"/dashboard/tasks/{task.id}/snooze", {"minutes": "60", "next": "/dashboard/"})
    db.session.refresh(task)
    assert task.due_at > utcnow() + timedelta(minutes=55)
    bad = web.post(f"/dashboard/tasks/{task.id}/snooze", {"minutes": "7"}, follow_redirects=True)
    assert "Snooze for 1 hour" in bad.get_data(as_text=True)
    local = (datetime.now(ZoneInfo(sam.time_zone)) + timedelta(days=2)).replace(hour=10, minute=30, second=0,
                                                                               microsecond=0)
    web.post(f"/dashboard/tasks/{task.id}/reschedule", {"due": local.strftime("%Y-%m-%dT%H:%M")})
    db.session.refresh(task)
    assert task.due_at == local.astimezone(UTC)
    past = web.post(f"/dashboard/tasks/{task.id}/reschedule", {"due": "2001-01-01T09:00"}, follow_redirects=True)
    assert "Pick a time in the future." in past.get_data(as_text=True)
    web.post(f"/dashboard/tasks/{task.id}/complete", {})
    db.session.refresh(task)
    assert task.status == "done" and task.completed_at is not None


def test_a_new_lead_is_on_today_whatever_its_due_time_clinician_first_on_top(db_app, team):
    """Issue 10: a lead whose task falls due next week is still on Today, under "New"."""
    rules = get_rules()
    submission = start({}, utcnow())
    save_step_all(rules, submission, DESK_ACHILLES, utcnow())
    noor = complete(rules, submission, Contact("Noor", "noor@example.com", True, False), utcnow()).lead
    red = start({}, utcnow())
    save_step_all(rules, red, {**DESK_ACHILLES, "sf_screen": ["night_rest_pain"]}, utcnow())
    rory = complete(rules, red, Contact("Rory", "rory@example.com", True, False), utcnow()).lead
    for lead in (noor, rory):
        lead.owner_id = team["alex"].id
    for task in db.session.execute(select(CoachTask)).scalars():
        task.due_at = utcnow() + timedelta(days=6)  # due next week
    db.session.commit()
    web = sign_in(db_app, team["alex"])
    html = web.get("/dashboard/").get_data(as_text=True)
    new = html[html.index("New — nobody has been in touch yet"):]
    assert "Noor" in new and "Rory" in new
    assert new.index("Rory") < new.index("Noor") and "clinician first" in new  # clinician-first on top
    assert 'class="count"' in html  # the waiting count in the nav
    web.post(f"/dashboard/leads/{noor.id}/note", {"text": "Left a voicemail."})
    html = web.get("/dashboard/").get_data(as_text=True)
    assert "Noor" not in html[html.index("New — nobody has been in touch yet"):]  # touched: off "New"


def test_pipeline_counts_and_moves(db_app, team):
    web = sign_in(db_app, team["owner"])
    html = web.get("/dashboard/pipeline").get_data(as_text=True)
    assert 'id="stage-new"' in html and "Dana" in html and "Kim" in html
    response = web.post(f"/dashboard/leads/{team['kim'].id}/stage",
                        {"stage": "session_booked", "next": "/dashboard/pipeline"})
    assert response.headers["Location"].endswith("/dashboard/pipeline")
    assert db.session.get(Lead, team["kim"].id).stage == "session_booked"
    coach_board = sign_in(db_app, team["sam"]).get("/dashboard/pipeline").get_data(as_text=True)
    assert "Kim" not in coach_board


def test_outbox_shows_status_and_resends_failed(db_app, team):
    message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.lead_id == team["dana"].id).limit(1)).scalar_one()
    message.status, message.attempts, message.last_error = "failed", 6, "550 mailbox unavailable"
    db.session.commit()
    web = sign_in(db_app, team["sam"])
    html = web.get("/dashboard/outbox?status=failed").get_data(as_text=True)
    assert "550 mailbox unavailable" in html and "Resend" in html
    assert web.post(f"/dashboard/outbox/{message.id}/resend", {}).status_code == 302
    db.session.refresh(message)
    assert message.status == "queued"
    again = web.post(f"/dashboard/outbox/{message.id}/resend", {}, follow_redirects=True)
    assert "Only failed emails" in again.get_data(as_text=True)
    kim_mail = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.lead_id == team["kim"].id)).scalars().first()
    assert kim_mail.to_address not in web.get("/dashboard/outbox").get_data(as_text=True)
    assert web.post(f"/dashboard/outbox/{kim_mail.id}/resend", {}).status_code == 404


def test_lead_page_shows_steps_and_a_coach_can_pause_and_stop_them(db_app, team):
    from coachapp.models import SequenceStep

    lead_id = team["dana"].id
    web = sign_in(db_app, team["sam"])
    html = web.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True)
    assert "Follow-up emails" in html and "Reminders to call back" in html  # the coach reminders
    # The assessment nurture stopped (her intake did not re-tick marketing emails), reason shown.
    from coachapp.models import Enrollment

    nurture = db.session.execute(select(Enrollment).where(Enrollment.lead_id == lead_id,
                                                          Enrollment.sequence_id == "assessment_nurture")).scalar_one()
    assert nurture.status == "stopped" and nurture.reason
    assert "Tips after the assessment" in html and nurture.reason in html.replace("&#39;", "'")
    web.post(f"/dashboard/leads/{lead_id}/sequences/strategy_requested", {"status": "paused"})
    html = web.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True)
    assert "Resume" in html
    web.post(f"/dashboard/leads/{lead_id}/sequences/strategy_requested", {"status": "stopped"})
    statuses = set(db.session.execute(select(SequenceStep.status).where(
        SequenceStep.lead_id == lead_id, SequenceStep.sequence_id == "strategy_requested")).scalars())
    assert statuses == {"cancelled"}
    bad = web.post(f"/dashboard/leads/{lead_id}/sequences/strategy_requested", {"status": "active"},
                   follow_redirects=True)
    assert "cannot be restarted" in bad.get_data(as_text=True)
    other = sign_in(db_app, team["alex"])
    other.get("/dashboard/")
    assert other.post(f"/dashboard/leads/{lead_id}/sequences/strategy_requested",
                      {"status": "paused"}).status_code == 404
