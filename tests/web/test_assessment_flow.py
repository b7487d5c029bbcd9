"""The prospect's web flow, through the test client (CSRF on), on every backend."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads.assessments import purge_abandoned
from coachapp.models import AssessmentSubmission, Lead, LeadEvent, OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.helpers import CHEST_PAIN, CONTACT, DESK_ACHILLES, walk_assessment


def _start(web) -> str:
    web.get("/assessment")
    response = web.post("/assessment/start")
    assert response.status_code == 302
    return response.headers["Location"].split("/")[2]


def _one(model):
    return db.session.execute(select(model)).scalar_one()


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_intro_explains_and_starts(web):
    page = web.get("/assessment")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Start the free assessment" in html
    assert "Content-Security-Policy" in page.headers
    token = _start(web)
    submission = _one(AssessmentSubmission)
    assert (submission.token, submission.status) == (token, "in_progress")


def test_full_flow_scores_stores_and_queues_the_plan_email(web):
    rules = get_rules()
    token = walk_assessment(web, rules, DESK_ACHILLES, CONTACT)
    page = web.get(f"/assessment/{token}/results")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # The first screen: the top priority in one line and the call to action, then the rest.
    summary = html[html.index('class="card summary"'):html.index("</section>")]
    assert "Your top priority" in summary and "Ankle dorsiflexion" in summary
    assert f'href="/strategy-session?from_assessment={token}"' in summary
    assert html.index("Your week") < html.index("Your exercises")
    assert f"/assessment/{token}/plan.ics" in html and "webcal://" in html  # calendar
    assert "data-print" in html and "results.js" in html

    lead = _one(Lead)
    assert lead.email == "dana.runner@example.com"
    assert lead.email_display == "Dana.Runner@example.com"
    assert lead.first_name == "Dana"
    assert lead.consent_health_at is not None and lead.consent_marketing_at is not None
    submission = _one(AssessmentSubmission)
    assert submission.lead_id == lead.id
    assert submission.status == "completed"
    assert submission.rules_version == rules.version
    assert submission.top_priority == "ankle_dorsiflexion"
    assert submission.result["plan"]["items"]
    message = _one(OutboxMessage)
    assert message.purpose_key == f"assessment-result:{submission.id}"
    assert (message.kind, message.status, message.to_address) == (
        "assessment_plan", "queued", "Dana.Runner@example.com")
    assert "Ankle dorsiflexion" in message.subject
    assert f"/assessment/{token}/results" in message.text_body
    # The email links to everything it mentions: results, the prefilled session, the calendar.
    assert f"/strategy-session?from_assessment={token}" in message.text_body
    assert f"/assessment/{token}/plan.ics" in message.text_body and "webcal://" in message.text_body
    kinds = db.session.execute(select(LeadEvent.kind).order_by(LeadEvent.id)).scalars().all()
    assert kinds[0] == "lead_created"
    assert {"consent", "assessment_completed", "email_queued"} <= set(kinds)


def test_first_touch_utm_referrer_and_landing_page_are_kept(web):
    rules = get_rules()
    web.get("/assessment?utm_source=strava&utm_medium=social&utm_campaign=fall-marathon",
            headers={"Referer": "https://www.strava.com/clubs/austin"})
    walk_assessment(web, rules, DESK_ACHILLES, CONTACT, query="?utm_source=later")
    lead = _one(Lead)
    assert lead.source == "strava"  # the first touch wins, not the later visit
    assert (lead.utm_medium, lead.utm_campaign) == ("social", "fall-marathon")
    assert lead.referrer == "https://www.strava.com/clubs/austin"
    assert "utm_campaign=fall-marathon" in lead.landing_page


def test_returning_runner_is_one_lead_with_two_submissions(web, db_app):
    rules = get_rules()
    walk_assessment(web, rules, DESK_ACHILLES, CONTACT)
    second = web.__class__(db_app.test_client())  # another device, same person
    walk_assessment(second, rules, CHEST_PAIN, {**CONTACT, "email": "  dana.runner@EXAMPLE.com "})
    assert _count(Lead) == 1
    assert _count(AssessmentSubmission) == 2
    assert _count(OutboxMessage) == 3  # two result emails, and the coach's red-flag email
    lead = _one(Lead)
    assert lead.needs_clinician is True
    assert db.session.execute(
        select(func.count()).where(LeadEvent.kind == "lead_created")
    ).scalar_one() == 1


def test_bad_input_gets_a_message_next_to_the_field_and_keeps_the_rest(web):
    token = _start(web)
    url = f"/assessment/{token}/weekly_km"
    web.get(url)
    response = web.post(url, {"weekly_km": "lots", "nav": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="weekly_km-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="lots"' in html  # the bad value comes back for correction
    db.session.expire_all()
    assert "weekly_km" not in _one(AssessmentSubmission).answers  # nothing half-saved

def test_one_question_per_screen_in_order_and_back_keeps_answers(web):
    token = _start(web)
    response = web.post(f"/assessment/{token}/age_band", {"age_band": "30-39", "nav": "next"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/sex")
    html = web.get(f"/assessment/{token}/sex").get_data(as_text=True)
    assert "data-auto-advance" in html and '<h1 class="q-title">Sex' in html
    assert "2 of " in html and "about 2 minutes left" in html  # progress and a computed time left
    # Answer, then go Back: both screens keep their answers.
    response = web.post(f"/assessment/{token}/sex", {"sex": "male", "nav": "back"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/age_band")
    assert 'value="30-39" checked' in web.get(f"/assessment/{token}/age_band").get_data(as_text=True)
    assert 'value="male" checked' in web.get(f"/assessment/{token}/sex").get_data(as_text=True)

def test_follow_up_screens_appear_only_when_they_apply(web):
    token = _start(web)
    response = web.post(f"/assessment/{token}/injury_history", {"injury_history": "none", "nav": "next"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/current_pain_nrs")
    response = web.post(f"/assessment/{token}/injury_history",
                        {"injury_history": "recent_stopped", "nav": "next"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/injury_areas")
    # A screen that does not apply is skipped even when opened directly.
    web.post(f"/assessment/{token}/current_pain_nrs", {"current_pain_nrs": "0", "nav": "next"})
    response = web.get(f"/assessment/{token}/current_pain_area")
    assert response.status_code == 302 and response.headers["Location"].endswith("/current_pain_weeks") is False

def test_abandoned_assessment_is_kept_and_resumes_by_link(web, db_app):
    token = _start(web)
    web.post(f"/assessment/{token}/age_band", {"age_band": "30-39", "nav": "next"})
    other_device = db_app.test_client()
    response = other_device.get(f"/assessment/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/assessment/{token}/sex")
    db.session.expire_all()
    submission = _one(AssessmentSubmission)
    assert submission.answers["age_band"] == "30-39"
    assert submission.steps_done == ["age_band"]
    # The contact step refuses to be skipped to.
    response = other_device.get(f"/assessment/{token}/contact")
    assert response.headers["Location"].endswith(f"/assessment/{token}/sex")


def test_an_assessment_saved_by_the_old_section_steps_resumes_where_it_was(web, db_app):
    token = _start(web)
    submission = _one(AssessmentSubmission)
    submission.answers = {k: DESK_ACHILLES[k] for k in ("age_band", "sex", "desk_hours",
                                                        "strength_sessions_per_week", "hm_5pq")}
    submission.steps_done = ["about_you"]
    db.session.commit()
    response = db_app.test_client().get(f"/assessment/{token}")
    assert response.headers["Location"].endswith(f"/assessment/{token}/sf_screen")


def test_the_self_tests_are_offered_after_the_core_one_per_screen(web):
    rules = get_rules()
    token = walk_assessment(web, rules, DESK_ACHILLES, contact=None)  # skips the tests
    offer = web.get(f"/assessment/{token}/self-tests").get_data(as_text=True)
    assert "Do the self-tests" in offer and "Show my plan" in offer
    response = web.post(f"/assessment/{token}/self-tests", {"nav": "tests"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/knee_to_wall")
    html = web.get(f"/assessment/{token}/knee_to_wall").get_data(as_text=True)
    assert html.index("Skip this test") < html.index('name="ktw_left_cm"')  # Skip at the top
    assert "Self-test 1 of" in html and "about 3 min" in html and "knee_to_wall.svg" in html
    assert 'name="ktw_right_cm"' in html  # left and right on one screen
    response = web.post(f"/assessment/{token}/knee_to_wall", {"nav": "skip"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/hip_rotation")

def test_contact_step_requires_consent_and_a_real_email(web):
    rules = get_rules()
    token = walk_assessment(web, rules, DESK_ACHILLES, contact=None)
    url = f"/assessment/{token}/contact"
    web.get(url)
    response = web.post(url, {"first_name": "Dana", "email": "dana@", "nav": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "doesn&#39;t look like an email address" in html or "look like an email" in html
    assert "consent to use these answers" in html
    assert 'value="Dana"' in html
    assert _count(Lead) == 0 and _count(OutboxMessage) == 0
    db.session.expire_all()
    assert _one(AssessmentSubmission).status == "in_progress"


def test_missing_csrf_token_is_refused_with_a_page(web):
    token = _start(web)
    response = web.client.post(f"/assessment/{token}/about_you", data={"age_band": "30-39"})
    assert response.status_code == 400
    assert "Please try again" in response.get_data(as_text=True)


def test_red_flag_routes_to_a_clinician_with_no_plan(web):
    rules = get_rules()
    token = walk_assessment(web, rules, CHEST_PAIN, CONTACT)
    html = web.get(f"/assessment/{token}/results").get_data(as_text=True)
    assert "Please see a clinician" in html
    assert "Your week" not in html
    # No sales call to action and no claim that a plan was emailed: there is no plan.
    assert "strategy session" not in html.lower() and "emailed this plan" not in html
    assert "contact you personally" in html
    lead = _one(Lead)
    assert lead.needs_clinician is True
    submission = _one(AssessmentSubmission)
    assert submission.safety_level == "red"
    assert submission.result["plan"] is None
    runner = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == "clinician_first")).scalar_one()
    assert "clinician" in runner.subject
    assert "strategy session" not in runner.text_body.lower() and "Your plan" not in runner.text_body
    assert "contact you personally" in " ".join(runner.text_body.split())
    assert db.session.execute(
        select(func.count()).where(LeadEvent.kind == "red_flag")
    ).scalar_one() == 1


def test_unknown_token_and_step_are_404_and_completed_goes_to_results(web):
    assert web.get("/assessment/nope/about_you").status_code == 404
    token = _start(web)
    assert web.get(f"/assessment/{token}/not-a-step").status_code == 404
    rules = get_rules()
    token = walk_assessment(web, rules, DESK_ACHILLES, CONTACT)
    response = web.get(f"/assessment/{token}/about_you")
    assert response.headers["Location"].endswith(f"/assessment/{token}/results")


def test_purge_deletes_only_old_anonymous_unfinished(web, db_app):
    rules = get_rules()
    walk_assessment(web, rules, DESK_ACHILLES, CONTACT)  # completed: kept
    _start(web)  # fresh: kept
    old = AssessmentSubmission(token="old", status="in_progress", answers={}, steps_done=[],
                               first_touch={}, updated_at=utcnow() - timedelta(days=31))
    db.session.add(old)
    db.session.commit()
    assert purge_abandoned() == 1
    tokens = set(db.session.execute(select(AssessmentSubmission.token)).scalars())
    assert "old" not in tokens and len(tokens) == 2


def test_the_screen_script_is_progressive_enhancement(web):
    token = _start(web)
    html = web.get(f"/assessment/{token}/sf_screen").get_data(as_text=True)
    assert "assessment.js" in html and "data-exclusive" in html
    assert "data-auto-advance" not in html  # a multi-select waits for Next

def test_the_runners_time_zone_is_kept_so_emails_reach_them_in_daytime(web):
    rules = get_rules()
    token = walk_assessment(web, rules, DESK_ACHILLES, {**CONTACT, "time_zone": "Europe/London"})
    assert token
    assert _one(Lead).time_zone == "Europe/London"


def test_an_unknown_time_zone_is_refused_next_to_the_field(web):
    token = walk_assessment(web, get_rules(), DESK_ACHILLES, contact=None)
    url = f"/assessment/{token}/contact"
    html = web.get(url).get_data(as_text=True)
    assert '<option selected value="America/Chicago">' in html and "timezone.js" in html
    response = web.post(url, {"first_name": "Dana", "email": "dana@example.com", "consent_health": "y",
                              "time_zone": "Mars/Olympus", "nav": "next"})
    assert response.status_code == 422
    assert 'id="time_zone-error"' in response.get_data(as_text=True)


def test_a_runner_comes_back_to_add_self_tests_same_lead(web):
    rules = get_rules()
    core_only = {k: v for k, v in DESK_ACHILLES.items() if k not in ("ktw_left_cm", "ktw_right_cm")}
    first = walk_assessment(web, rules, core_only, CONTACT)
    html = web.get(f"/assessment/{first}/results").get_data(as_text=True)
    assert "Sharpen this with a self-test" in html and "knee-to-wall" in html
    response = web.post(f"/assessment/{first}/add-tests", {})
    location = response.headers["Location"]
    assert location.endswith("/knee_to_wall")  # the core is carried over: straight to the tests
    second = location.split("/")[2]
    response = web.post(f"/assessment/{second}/knee_to_wall",
                        {"ktw_left_cm": "8", "ktw_right_cm": "8", "nav": "finish"})
    assert response.headers["Location"].endswith(f"/assessment/{second}/contact")
    contact = web.get(f"/assessment/{second}/contact").get_data(as_text=True)
    assert 'value="Dana"' in contact and 'value="Dana.Runner@example.com"' in contact  # prefilled
    response = web.post(f"/assessment/{second}/contact",
                        {"first_name": "Dana", "email": "Dana.Runner@example.com", "consent_health": "y",
                         "time_zone": "America/Chicago", "nav": "next"})
    assert response.headers["Location"].endswith(f"/assessment/{second}/results")
    assert _count(Lead) == 1 and _count(AssessmentSubmission) == 2
    newer = web.get(f"/assessment/{second}/results").get_data(as_text=True)
    assert "Ankle dorsiflexion" in newer[newer.index('class="card summary"'):]
    assert "You have newer results" in web.get(f"/assessment/{first}/results").get_data(as_text=True)
