"""The prospect's web flow, through the test client (CSRF on), on every backend."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads.assessments import purge_abandoned
from coachapp.models import AssessmentSubmission, Lead, LeadEvent, OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.helpers import CHEST_PAIN, CONTACT, DESK_ACHILLES, section_form, walk_assessment


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
    assert "Your running mobility priorities" in html
    assert html.index("Ankle dorsiflexion") < html.index("Your plan")
    assert "Your week" in html
    assert "Book a free strategy session" in html or "Reply to the email" in html

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
    url = f"/assessment/{token}/running"
    web.get(url)
    data = section_form(get_rules().assessment.section("running"), DESK_ACHILLES)
    data["weekly_km"] = "lots"
    response = web.post(url, {**data, "nav": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="weekly_km-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="2-5" checked' in html  # years_running kept
    assert 'value="lots"' in html  # the bad value comes back for correction
    db.session.expire_all()
    assert "years_running" not in _one(AssessmentSubmission).answers  # nothing half-saved


def test_back_keeps_answers_in_both_directions(web):
    rules = get_rules()
    token = _start(web)
    about = rules.assessment.section("about_you")
    response = web.post(f"/assessment/{token}/about_you",
                        {**section_form(about, DESK_ACHILLES), "nav": "next"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/safety")
    # On the next step, answer one question and go Back: both steps keep their answers.
    response = web.post(f"/assessment/{token}/safety",
                        {"sf_exertion_chest": "no", "shown": "", "nav": "back"})
    assert response.headers["Location"].endswith(f"/assessment/{token}/about_you")
    html = web.get(f"/assessment/{token}/about_you").get_data(as_text=True)
    assert 'value="30-39" checked' in html
    html = web.get(f"/assessment/{token}/safety").get_data(as_text=True)
    assert 'name="sf_exertion_chest" value="no" checked' in html


def test_follow_up_questions_appear_without_javascript(web):
    token = _start(web)
    url = f"/assessment/{token}/injuries"
    web.get(url)
    response = web.post(url, {"injury_history": "recent_stopped", "current_pain_nrs": "0",
                              "shown": "injury_history,current_pain_nrs,feels_tight", "nav": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A couple more questions" in html
    assert 'name="injury_areas"' in html
    assert "injury_areas-error" not in html  # revealed, not yet an error
    response = web.post(url, {"injury_history": "recent_stopped", "current_pain_nrs": "0",
                              "injury_areas": ["shin"], "nav": "next",
                              "shown": "injury_history,injury_areas,current_pain_nrs,feels_tight"})
    assert response.status_code == 302


def test_abandoned_assessment_is_kept_and_resumes_by_link(web, db_app):
    rules = get_rules()
    token = _start(web)
    about = rules.assessment.section("about_you")
    web.post(f"/assessment/{token}/about_you", {**section_form(about, DESK_ACHILLES), "nav": "next"})
    other_device = db_app.test_client()
    response = other_device.get(f"/assessment/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/assessment/{token}/safety")
    db.session.expire_all()
    submission = _one(AssessmentSubmission)
    assert submission.answers["age_band"] == "30-39"
    assert submission.steps_done == ["about_you"]
    # The contact step refuses to be skipped to.
    response = other_device.get(f"/assessment/{token}/contact")
    assert response.headers["Location"].endswith(f"/assessment/{token}/safety")


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


def test_same_step_follow_ups_are_rendered_for_progressive_enhancement(web):
    token = _start(web)
    html = web.get(f"/assessment/{token}/injuries").get_data(as_text=True)
    assert 'id="q-injury_areas"' in html
    assert 'data-show-if="{&#34;ne&#34;: &#34;none&#34;, &#34;ref&#34;: &#34;injury_history&#34;}"' in html
    assert "<noscript>" in html
    assert "assessment.js" in html
    # Answering "no" hides nothing server-side: the follow-up answer is simply ignored.
    response = web.post(f"/assessment/{token}/injuries",
                        {"injury_history": "none", "injury_areas": ["shin"], "current_pain_nrs": "0",
                         "shown": "injury_history,injury_areas,current_pain_nrs,feels_tight,"
                                  "ankle_sprains_count,current_pain_area,current_pain_weeks,pain_behaviour",
                         "nav": "next"})
    assert response.status_code == 302
    db.session.expire_all()
    answers = _one(AssessmentSubmission).answers
    assert answers["injury_history"] == "none" and "injury_areas" not in answers


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
