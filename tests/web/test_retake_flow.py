"""Retaking through the signed link in the runner's emails (issue 14.1): the choice page, a
self-tests-only retake (core answers kept, no measurement carried over), a whole retake
(stable facts prefilled only), the comparison on the results page, and bad or expired links."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from coachapp import links
from coachapp.extensions import db
from coachapp.links import retake_token, retake_url
from coachapp.models import AssessmentSubmission, Lead, OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.helpers import CONTACT, CORE, complete_assessment, walk_assessment
from tests.helpers_strategy import make_coach

FIRST = {**CORE, "ktw_left_cm": 7, "ktw_right_cm": 7.5, "trot_left": "well_short", "trot_right": "on_line"}
TESTS_NOW = {"ktw_left_cm": 11, "ktw_right_cm": 8, "trot_left": "short_hand_width", "trot_right": "on_line"}


def _lead() -> Lead:
    make_coach(db)
    return complete_assessment(FIRST, CONTACT["email"], now=utcnow() - timedelta(days=42))


def _latest() -> AssessmentSubmission:
    query = select(AssessmentSubmission).order_by(AssessmentSubmission.id.desc()).limit(1)
    return db.session.execute(query).scalar_one()


def test_the_link_offers_both_retakes(web):
    lead = _lead()
    assert retake_url(lead.id).startswith("http") and "/assessment/retake/" in retake_url(lead.id)
    page = web.get(f"/assessment/retake/{retake_token(lead.id)}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Welcome back, Dana" in html and "Your last assessment was on" in html
    assert 'value="tests"' in html and 'value="full"' in html and 'name="csrf_token"' in html


def test_a_self_tests_only_retake_keeps_the_core_and_compares(web):
    lead = _lead()
    rules = get_rules()
    signed = retake_token(lead.id)
    web.get(f"/assessment/retake/{signed}")
    response = web.post(f"/assessment/retake/{signed}", {"mode": "tests"})
    assert response.status_code == 302
    location = response.headers["Location"]
    first_test = rules.assessment.question("ktw_left_cm").screen
    assert location.endswith(f"/{first_test}")  # straight to the first self-test
    retake = _latest()
    assert retake.status == "in_progress" and retake.lead_id is None
    assert retake.answers["age_band"] == CORE["age_band"] and retake.answers["sf_screen"] == CORE["sf_screen"]
    assert not {"ktw_left_cm", "ktw_right_cm", "trot_left", "trot_right"} & set(retake.answers)  # never prefilled
    # the self-test screen is empty, not last time's measurement
    screen = web.get(location).get_data(as_text=True)
    assert not re.search(r'name="ktw_left_cm"[^>]*value="7"', screen)
    token = walk_assessment(web, rules, {**retake.answers, **TESTS_NOW}, location=location)
    contact = web.get(f"/assessment/{token}/contact").get_data(as_text=True)
    assert 'value="Dana.Runner@example.com"' in contact  # the contact step knows who they are
    web.post(f"/assessment/{token}/contact", {"first_name": "Dana", "email": CONTACT["email"],
                                              "consent_health": "y", "time_zone": "America/Chicago",
                                              "nav": "next"})
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Lead)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(AssessmentSubmission)).scalar_one() == 2
    page = web.get(f"/assessment/{token}/results")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Since your last assessment on" in html
    summary = html[html.index('class="card summary"'):html.index("</section>")]  # the first phone screen
    assert "2 self-tests improved by more than the measurement error" in summary
    assert "Left: 7 cm → 11 cm, improved by 4 cm" in html
    assert "Right: 7.5 cm → 8 cm, within measurement error" in html
    assert html.count('class="chart progress-chart"') == 2  # knee-to-wall and upper-back rotation
    assert "<table class=\"progress-table\">" in html and "<desc id=" in html
    email = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "assessment_plan")
                               .order_by(OutboxMessage.id.desc()).limit(1)).scalar_one()
    assert "SINCE YOUR LAST ASSESSMENT ON" in email.text_body and "improved by 4 cm" in email.text_body
    # the email draws the same charts (inline SVG, for the mail apps that show it), the words stay
    assert email.html_body.count('class="chart progress-chart"') == 2
    assert 'id="email-chart-1"' in email.html_body and 'role="img"' in email.html_body
    assert "<desc id=\"email-chart-1-desc\">" in email.html_body and "<svg" not in email.text_body


def test_a_whole_retake_prefills_stable_facts_only(web):
    lead = _lead()
    rules = get_rules()
    signed = retake_token(lead.id)
    web.get(f"/assessment/retake/{signed}")
    response = web.post(f"/assessment/retake/{signed}", {"mode": "full"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/{rules.assessment.screens[0].id}")
    retake = _latest()
    assert set(retake.answers) <= set(rules.assessment.retake_prefill)
    assert retake.answers["age_band"] == CORE["age_band"] and retake.answers["goal_event"] == CORE["goal_event"]
    assert "sf_screen" not in retake.answers and "current_pain_nrs" not in retake.answers
    assert "weekly_km" not in retake.answers and "ktw_left_cm" not in retake.answers
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'value="30-39"[^>]*checked|checked[^>]*value="30-39"', page)  # shown filled in


def test_bad_and_expired_links_say_so(web, monkeypatch):
    lead = _lead()
    page = web.get("/assessment/retake/not-a-real-link")
    assert page.status_code == 404
    assert "This retake link doesn&#39;t work" in page.get_data(as_text=True)
    tampered = retake_token(lead.id)[:-2] + "xx"
    assert web.get(f"/assessment/retake/{tampered}").status_code == 404
    web.get(f"/assessment/retake/{retake_token(lead.id)}")  # a page with a form: a CSRF token
    refused = web.post(f"/assessment/retake/{tampered}", {"mode": "tests"})
    assert refused.status_code == 404 and "This retake link doesn" in refused.get_data(as_text=True)
    monkeypatch.setattr(links, "RETAKE_MAX_AGE", -1)
    page = web.get(f"/assessment/retake/{retake_token(lead.id)}")
    html = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "This retake link has expired." in html and 'href="/assessment"' in html
    assert db.session.execute(select(func.count()).select_from(AssessmentSubmission)).scalar_one() == 1


def test_an_unknown_mode_goes_back_to_the_choice(web):
    lead = _lead()
    signed = retake_token(lead.id)
    web.get(f"/assessment/retake/{signed}")
    response = web.post(f"/assessment/retake/{signed}", {"mode": "everything"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/assessment/retake/{signed}")
    assert db.session.execute(select(func.count()).select_from(AssessmentSubmission)).scalar_one() == 1


def test_the_retake_invitation_carries_the_signed_link(db_app):
    from coachapp.emails.messages import render

    lead = _lead()
    rendered = render("nurture_retake_invite", first_name="Dana", result=None, unsubscribe_url="u",
                      retake_url=retake_url(lead.id), assessment_url="/assessment",
                      business_name="b", business_address="a")
    assert retake_url(lead.id) in rendered.text and retake_url(lead.id) in rendered.html
    assert links.retake_lead_id(retake_url(lead.id).rsplit("/", 1)[1]) == lead.id
