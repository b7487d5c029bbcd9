"""The Free Strategy Session intake through the web client, on every backend."""

from __future__ import annotations

from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.models import CoachTask, Lead, LeadEvent, OutboxMessage, StrategyRequest
from coachapp.rules_store import get_rules
from tests.helpers import CONTACT, DESK_ACHILLES, walk_assessment
from tests.helpers_strategy import QUICK_FORM, STRATEGY_FORM, make_coach


def _fields(html: str) -> set[str]:
    """The visible questions of a form: input, select and textarea names, hidden ones left out."""
    import re

    names = set()
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if name and 'type="hidden"' not in tag and name.group(1) not in ("csrf_token", "nav", "reference_code"):
            names.add(name.group(1))
    return names


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
    assert '<option selected value="America/Chicago">Central Time — Chicago (UTC−' in html  # friendly
    assert "It takes about 2 minutes" in html  # computed from the fields it shows
    assert "timezone.js" in html
    assert len(_fields(html)) == 12 and "health_check" in _fields(html)


def test_new_person_is_stored_prioritised_assigned_tasked_and_emailed(web):
    make_coach(db)
    response = _submit(web)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    thanks = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "What happens next" in thanks
    assert "Sam will call you by" in thanks
    assert "CST" in thanks or "CDT" in thanks

    lead = _one(Lead)
    assert (lead.phone, lead.time_zone) == ("+15125550143", "America/Chicago")
    assert lead.tier and lead.tier[0] in "ABC" and lead.tier[1] in "123"
    assert lead.priority["reasons"], "the tier must carry its reasons"
    assert {r["axis"] for r in lead.priority["reasons"]} >= {"fit", "urgency"}
    assert "fit.runner" in {r["rule_id"] for r in lead.priority["reasons"]}  # unless "I don't run (yet)"
    assert lead.owner_id is not None
    request = _one(StrategyRequest)
    assert request.answers["services"] == ["mobility_coaching"]
    assert request.answers["in_area"] is True  # "In person — I live in or near Austin"
    task = _one(CoachTask)
    assert (task.coach_id, task.kind, task.status) == (lead.owner_id, "first_contact", "open")
    assert task.due_at > request.created_at

    confirmation = _outbox("strategy_confirmation")
    assert confirmation.to_address == "dana.runner@example.com"
    assert "Sam will call you by" in confirmation.text_body
    notification = _outbox("coach_notification")
    assert notification.to_address == "sam@motive.example"
    assert f"[{lead.tier}" in notification.subject
    for text in ("TALKING POINTS", "Austin Marathon", "mile 18", "+15125550143", "Mobility coaching"):
        assert text in notification.text_body, text
    kinds = set(db.session.execute(select(LeadEvent.kind)).scalars())
    assert {"lead_created", "strategy_requested", "priority", "assignment", "task", "email_queued"} <= kinds


def test_coming_from_the_assessment_prefills_and_links_one_lead(web):
    make_coach(db)
    token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
    results = web.get(f"/assessment/{token}/results").get_data(as_text=True)
    assert f"/strategy-session?from_assessment={token}" in results
    page = web.get(f"/strategy-session?from_assessment={token}").get_data(as_text=True)
    # Only what is new: at most 8 questions, no health screen (the assessment answered it).
    assert _fields(page) == {"goals", "services", "delivery", "preferred_contact", "contact_times",
                             "phone", "time_zone", "consent"}
    assert "Booking as <strong>Dana</strong>" in page and f'value="{token}"' in page
    assert "about 1 minute" in page
    tier_after_assessment = _one(Lead).tier
    assert tier_after_assessment is not None  # the assessment alone already tiers the lead
    response = web.post("/strategy-session", {**QUICK_FORM, "assessment_token": token})
    assert response.status_code == 302
    assert _count(Lead) == 1
    request = _one(StrategyRequest)
    assert request.assessment_submission_id is not None
    kinds = db.session.execute(select(LeadEvent.kind).order_by(LeadEvent.id)).scalars().all()
    assert kinds.index("assessment_completed") < kinds.index("strategy_requested")
    brief = _outbox("coach_notification").text_body
    assert "RUNNER ASSESSMENT" in brief and "Ankle dorsiflexion" in brief
    assert "Take the 2-minute Runner Assessment" not in _outbox("strategy_confirmation").html_body
    answers = request.answers
    assert answers["running_history"] == "2-5" and answers["race_date"] == DESK_ACHILLES["race_date"]
    assert answers["health_check"] == [] and answers["contact_times"] == ["evenings"]


def test_an_older_assessment_asks_the_health_questions_again(web):
    from datetime import timedelta

    from coachapp.models import AssessmentSubmission

    token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
    submission = _one(AssessmentSubmission)
    submission.completed_at = submission.completed_at - timedelta(days=31)
    db.session.commit()
    page = web.get(f"/strategy-session?from_assessment={token}").get_data(as_text=True)
    assert "health_check" in _fields(page) and "more than 30 days old" in page
    assert 'value="Dana"' in page  # the long form, prefilled


def test_a_red_flag_assessment_stays_clinician_first_through_the_short_form(web):
    make_coach(db)
    token = walk_assessment(web, get_rules(), {**DESK_ACHILLES, "sf_screen": ["numb_tingle_weak"]}, CONTACT)
    response = web.post("/strategy-session", {**QUICK_FORM, "assessment_token": token})
    assert response.status_code == 302
    lead = _one(Lead)
    assert lead.needs_clinician and lead.priority_status == "clinician_first"
    assert _one(StrategyRequest).answers["safety"]["level"] == "red"  # the screen came from the assessment


def test_first_touch_is_captured_on_the_intake_too(web):
    web.get("/strategy-session?utm_source=google&utm_campaign=marathon-fall",
            headers={"Referer": "https://www.google.com/"})
    assert web.post("/strategy-session", STRATEGY_FORM).status_code == 302
    lead = _one(Lead)
    assert (lead.source, lead.utm_campaign, lead.referrer) == ("google", "marathon-fall", "https://www.google.com/")
    assert _one(StrategyRequest).first_touch["utm_source"] == "google"


def test_not_you_takes_the_standalone_form_and_never_merges_two_people(web):
    token = walk_assessment(web, get_rules(), DESK_ACHILLES, CONTACT)
    page = web.get(f"/strategy-session?from_assessment={token}").get_data(as_text=True)
    assert 'href="/strategy-session">Not you?' in page
    # An old assessment token posted with the long form and another email stays apart.
    old = _submit(web, {"email": "someone.else@example.com", "assessment_token": "not-a-token"})
    assert old.status_code == 302
    assert _count(Lead) == 2
    request = _one(StrategyRequest)
    assert request.assessment_submission_id is None


def test_bad_input_comes_back_filled_with_messages_and_stores_nothing(web):
    response = _submit(web, {"goals": "", "phone": "", "services": [], "first_name": "Dana "})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tell us a little about your goal." in html
    assert "Add a phone number so we can call" in html  # a call needs a number
    assert "Choose at least one" in html
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
