"""The Free Strategy Session intake through the web client, on every backend."""

from __future__ import annotations

from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.models import CoachTask, Lead, LeadEvent, OutboxMessage, StrategyRequest
from coachapp.rules_store import get_rules
from tests.helpers import CONTACT, DESK_ACHILLES, walk_assessment
from tests.helpers_strategy import STRATEGY_FORM, make_coach


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _one(model):
    return db.session.execute(select(model)).scalar_one()


def _submit(web, data=None, query: str = ""):
    web.get(f"/strategy-session{query}")
    return web.post("/strategy-session", {**STRATEGY_FORM, **(data or {})})


def _outbox(kind: str) -> OutboxMessage:
    return db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == kind)).scalar_one()


def test_form_renders_with_csrf_and_a_default_time_zone(web):
    page = web.get("/strategy-session")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="csrf_token"' in html
    assert '<option selected value="America/Chicago">' in html
    assert "2 minutes" in html
    assert "timezone.js" in html


def test_new_person_is_stored_prioritised_assigned_tasked_and_emailed(web):
    make_coach(db)
    response = _submit(web)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    thanks = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "What happens next" in thanks
    assert "Sam will call you by" in thanks
    assert "CST" in thanks or "CDT" in thanks

    lead = _one(Lead)
    assert (lead.phone, lead.time_zone, lead.last_name) == ("+15125550143", "America/Chicago", "Runner")
    assert lead.tier and lead.tier[0] in "ABC" and lead.tier[1] in "123"
    assert lead.priority["reasons"], "the tier must carry its reasons"
    assert {r["axis"] for r in lead.priority["reasons"]} >= {"fit", "urgency"}
    assert lead.owner_id is not None
    request = _one(StrategyRequest)
    assert request.answers["services"] == ["mobility_coaching"]
    assert request.answers["race_date"] == STRATEGY_FORM["race_date"]
    task = _one(CoachTask)
    assert (task.coach_id, task.kind, task.status) == (lead.owner_id, "first_contact", "open")
    assert task.due_at > request.created_at

    confirmation = _outbox("strategy_confirmation")
    assert confirmation.to_address == "dana.runner@example.com"
    assert "Sam will call you by" in confirmation.text_body
    notification = _outbox("coach_notification")
    assert notification.to_address == "sam@motive.example"
    assert f"[{lead.tier}" in notification.subject
    for text in ("TALKING POINTS", "Austin Marathon", "Left knee pain", "+15125550143", "Mobility coaching"):
        assert text in notification.text_body, text
    kinds = set(db.session.execute(select(LeadEvent.kind)).scalars())
    assert {"lead_created", "strategy_requested", "priority", "assignment", "task", "email_queued"} <= kinds


def test_coming_from_the_assessment_prefills_and_links_one_lead(web):
    make_coach(db)
    token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
    results = web.get(f"/assessment/{token}/results").get_data(as_text=True)
    assert f"/strategy-session?from_assessment={token}" in results
    page = web.get(f"/strategy-session?from_assessment={token}").get_data(as_text=True)
    assert 'value="Dana"' in page and 'value="Dana.Runner@example.com"' in page
    assert f'value="{token}"' in page
    tier_after_assessment = _one(Lead).tier
    assert tier_after_assessment is not None  # the assessment alone already tiers the lead
    form = {**STRATEGY_FORM, "email": "Dana.Runner@example.com", "assessment_token": token}
    response = web.post("/strategy-session", form)
    assert response.status_code == 302
    assert _count(Lead) == 1
    request = _one(StrategyRequest)
    assert request.assessment_submission_id is not None
    kinds = db.session.execute(select(LeadEvent.kind).order_by(LeadEvent.id)).scalars().all()
    assert kinds.index("assessment_completed") < kinds.index("strategy_requested")
    brief = _outbox("coach_notification").text_body
    assert "RUNNER ASSESSMENT" in brief and "Ankle dorsiflexion" in brief
    assert "Take the 2-minute Runner Assessment" not in _outbox("strategy_confirmation").html_body


def test_first_touch_is_captured_on_the_intake_too(web):
    web.get("/strategy-session?utm_source=google&utm_campaign=marathon-fall",
            headers={"Referer": "https://www.google.com/"})
    assert web.post("/strategy-session", STRATEGY_FORM).status_code == 302
    lead = _one(Lead)
    assert (lead.source, lead.utm_campaign, lead.referrer) == ("google", "marathon-fall", "https://www.google.com/")
    assert _one(StrategyRequest).first_touch["utm_source"] == "google"


def test_a_forwarded_assessment_link_never_merges_two_people(web):
    token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
    response = _submit(web, {"email": "someone.else@example.com", "assessment_token": token})
    assert response.status_code == 302
    assert _count(Lead) == 2
    request = _one(StrategyRequest)
    assert request.assessment_submission_id is None


def test_bad_input_comes_back_filled_with_messages_and_stores_nothing(web):
    response = _submit(web, {"goals": "", "phone": "12", "in_area": "", "race_date": "2001-01-01",
                             "services": [], "limitations": "Old ankle sprain"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tell us a little about your goal." in html
    assert "so we know if we can meet in person" in html  # in-person needs the area question
    assert "That date has passed" in html
    assert "Choose at least one" in html
    assert "Old ankle sprain" in html  # what they typed is still there
    assert 'value="Dana"' in html
    assert 'checked id="preferred_contact-0"' in html  # the chosen radio stays chosen
    assert _count(Lead) == 0 and _count(StrategyRequest) == 0 and _count(OutboxMessage) == 0


def test_phone_that_cannot_be_dialled_is_refused_next_to_the_field(web):
    response = _submit(web, {"phone": "+1 555 0000"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="phone-error"' in html
    assert _count(Lead) == 0


def test_phone_is_needed_for_a_call(web):
    response = _submit(web, {"phone": "", "preferred_contact": "phone"})
    assert response.status_code == 422
    assert "Add a phone number" in response.get_data(as_text=True)
    response = _submit(web, {"phone": "", "preferred_contact": "email"})
    assert response.status_code == 302


def test_red_flag_on_the_intake_means_clinician_first(web):
    make_coach(db)
    response = _submit(web, {"health_check": ["chest"]})
    assert response.status_code == 302
    thanks = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "One thing first" in thanks
    lead = _one(Lead)
    assert lead.needs_clinician is True
    assert lead.priority_status == "clinician_first"
    assert "clinician first" in _outbox("coach_notification").subject
    assert "One thing first" in _outbox("strategy_confirmation").html_body
    assert db.session.execute(select(func.count()).where(LeadEvent.kind == "red_flag")).scalar_one() == 1


def test_without_any_coach_the_lead_still_gets_a_task_and_the_owner_an_email(web, db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "OWNER_EMAIL", "owner@motive.example")
    response = _submit(web)
    assert response.status_code == 302
    assert _one(Lead).owner_id is None
    assert _one(CoachTask).coach_id is None
    assert _outbox("coach_notification").to_address == "owner@motive.example"
    assert "A coach will" in web.get(response.headers["Location"]).get_data(as_text=True)


def test_missing_csrf_is_refused(web):
    response = web.client.post("/strategy-session", data=STRATEGY_FORM)
    assert response.status_code == 400
    assert _count(Lead) == 0
