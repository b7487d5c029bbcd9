"""The owner's editor (issue 15.2) through the pages: an edited question label and email subject
reach the live site only once published and leave it on rollback (the runner's screen; the plan
email queued by the real assessment flow, read from the outbox); invalid edits are saved, named
next to their field and cannot be published; Markdown is escaped; the audit shows the edits;
coaches get 403; every form needs its CSRF token."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import OutboxMessage, RulesAudit, RulesVersion
from coachapp.rules_versions import services
from coachapp.rules_versions.edits import ASSESSMENT, SEQUENCES
from tests.dashboard.test_rules_pages import first_screen
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_rules_versions import NEW_LABEL, OLD_LABEL, versions_cleared  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("versions_cleared")

SUBJECT = "{{ first_name }}, your plan starts with {{ top_priority }}"
BODY = "Hello **{{ first_name }}**,\n\nThis is *your* plan. [Questions?](https://motive.example/faq)\n\n- one\n- two"


def new_draft(web) -> int:
    web.get("/dashboard/rules/edit")
    response = web.post("/dashboard/rules/edit/new", {})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    number = int(re.search(r"/dashboard/rules/(\d+)/edit$", response.headers["Location"]).group(1))
    assert "Nothing changes for prospects until you publish it" in web.get(response.headers["Location"]).get_data(
        as_text=True)
    return number


def plan_email(email: str) -> OutboxMessage:
    """The plan email the real assessment flow queued for ``email``."""
    lead = complete_assessment(DESK_ACHILLES, email)
    return db.session.execute(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id,
                                                          OutboxMessage.kind == "assessment_plan")).scalar_one()


def field_error(page: str, name: str) -> str:
    """The error shown right above the input or textarea named ``name`` (and tied to it)."""
    match = re.search(r'<p class="error" id="(f\d+-error|[\w.-]+-error)">([^<]*)</p>\s*'
                      r'<(?:textarea|input)[^>]*name="' + re.escape(name) + r'"[^>]*aria-describedby="\1"', page)
    assert match, f"no error next to {name}"
    return html.unescape(match.group(2))


def test_edited_label_and_subject_are_live_only_after_publish_and_gone_after_rollback(db_app):
    owner = coach_with_password(db, is_owner=True, name="Brian Owner", email="brian@motive.example")
    web = sign_in(db_app, owner)
    assert 'href="/dashboard/rules/edit"' in web.get("/dashboard/rules").get_data(as_text=True)  # the hook
    number = new_draft(web)
    default_subject = plan_email("before@example.com").subject
    assert "your running mobility plan" in default_subject

    web.get(f"/dashboard/rules/{number}/edit/questions")
    saved = web.post(f"/dashboard/rules/{number}/edit/questions", {"q.age_band.text": NEW_LABEL})
    assert saved.status_code == 200 and f"Saved in v{number}." in saved.get_data(as_text=True)
    web.get(f"/dashboard/rules/{number}/edit/emails")
    saved = web.post(f"/dashboard/rules/{number}/edit/emails",
                     {"assessment_plan.subject": SUBJECT, "assessment_plan.body": BODY})
    assert saved.status_code == 200, html.unescape(saved.get_data(as_text=True))[:3000]
    draft = services.by_number(number)
    assert draft.copy == {"assessment_plan": {"subject": SUBJECT, "body": BODY}}
    # only the edited line changed: comments and layout are kept
    shipped = services.shipped_texts()[ASSESSMENT].splitlines()
    edited = draft.files[ASSESSMENT].splitlines()
    assert [(a, b) for a, b in zip(shipped, edited, strict=True) if a != b] == [
        (f'        text: "{OLD_LABEL}"', f'        text: "{NEW_LABEL}"')]

    # a draft reaches nobody
    assert OLD_LABEL in first_screen(db_app) and NEW_LABEL not in first_screen(db_app)
    assert plan_email("draft@example.com").subject == default_subject

    web.get(f"/dashboard/rules/{number}/publish")
    assert web.post(f"/dashboard/rules/{number}/publish", {}).status_code == 302
    assert NEW_LABEL in first_screen(db_app) and OLD_LABEL not in first_screen(db_app)
    live = plan_email("live@example.com")
    top = re.search(r"Dana, your plan starts with (.+)$", live.subject)
    assert top and top.group(1) == top.group(1).lower(), live.subject  # the first priority, from the engine
    assert live.rules_version == draft.content_hash
    assert "<p>Hello <strong>Dana</strong>,</p>" in live.html_body and "<em>your</em>" in live.html_body
    assert '<a href="https://motive.example/faq">Questions?</a>' in live.html_body
    assert "Your priorities" in live.html_body and "Thanks for taking the Runner Assessment" not in live.html_body
    assert "Hello Dana," in live.text_body and "Questions? (https://motive.example/faq)" in live.text_body
    assert "YOUR PRIORITIES" in live.text_body

    refused = web.get(f"/dashboard/rules/{number}/edit/questions")  # a live version is not edited
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/dashboard/rules/edit")
    assert web.post(f"/dashboard/rules/{number}/edit/emails", {"assessment_plan.subject": "x"}).status_code == 302
    assert services.by_number(number).copy["assessment_plan"]["subject"] == SUBJECT
    web.get("/dashboard/rules")
    web.post("/dashboard/rules/rollback", {"expected_live": str(draft.id)})
    assert OLD_LABEL in first_screen(db_app) and NEW_LABEL not in first_screen(db_app)
    assert plan_email("after@example.com").subject == default_subject

    audit = db.session.execute(select(RulesAudit.action, RulesAudit.detail).order_by(RulesAudit.id)).all()
    assert [a for a, _ in audit] == ["create", "edit", "edit", "publish", "rollback"]
    assert audit[1].detail["changed"] == [ASSESSMENT] and audit[2].detail["changed"] == ["copy"]
    listing = web.get("/dashboard/rules").get_data(as_text=True)
    assert "edit" in listing and "Brian Owner" in listing


def test_invalid_edits_are_saved_named_next_to_their_field_and_cannot_be_published(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    number = new_draft(web)
    base = f"/dashboard/rules/{number}/edit"

    web.get(f"{base}/questions")
    response = web.post(f"{base}/questions", {"q.age_band.text": "  "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "this draft is saved but cannot be published" in page
    assert "question 'age_band': 'text' must be a non-empty string" in field_error(page, "q.age_band.text")

    web.get(f"{base}/sequences")
    response = web.post(f"{base}/sequences", {"st.assessment_nurture.drill_top_priority.days": "-2",
                                              "st.no_show.rebook.hours": "soon"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "'delay' must be like {days: 3}" in field_error(page, "st.assessment_nurture.drill_top_priority.days")
    assert field_error(page, "st.no_show.rebook.hours") == "Enter a whole number."  # not saved
    draft = services.by_number(number)
    assert "delay: {days: -2}" in draft.files[SEQUENCES] and "delay: {hours: 2}" in draft.files[SEQUENCES]

    web.get(f"{base}/emails")
    response = web.post(f"{base}/emails", {"assessment_plan.subject": "Hi {{ shoe_size }}",
                                           "assessment_plan.body": "Hello"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown variable {{ shoe_size }}" in field_error(page, "assessment_plan.subject")

    overview = html.unescape(web.get(base).get_data(as_text=True))
    assert "3 problems" in overview and "Review and publish" not in overview
    web.get(f"/dashboard/rules/{number}/publish")
    refused = web.post(f"/dashboard/rules/{number}/publish", {})
    text = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "age_band" in text
    db.session.expire_all()
    assert services.by_number(number).status == "draft" and services.live_version() is None

    # fix the files: the copy problem alone still stops the publish (the guard on going live)
    web.get(f"{base}/questions")
    web.post(f"{base}/questions", {"q.age_band.text": OLD_LABEL})
    web.post(f"{base}/sequences", {"st.assessment_nurture.drill_top_priority.days": "3"})
    assert services.problems(services.by_number(number)) == []
    web.get(f"/dashboard/rules/{number}/publish")
    refused = web.post(f"/dashboard/rules/{number}/publish", {})
    assert refused.status_code == 422 and "Unknown variable {{ shoe_size }}" in html.unescape(
        refused.get_data(as_text=True))
    db.session.expire_all()
    assert services.live_version() is None
    web.get(f"{base}/emails")
    web.post(f"{base}/emails", {"assessment_plan.subject": "", "assessment_plan.body": ""})
    web.get(f"/dashboard/rules/{number}/publish")
    assert web.post(f"/dashboard/rules/{number}/publish", {}).status_code == 302


def test_markdown_with_html_comes_out_escaped(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    number = new_draft(web)
    web.get(f"/dashboard/rules/{number}/edit/emails")
    body = ("Hi {{ first_name }} <script>alert(1)</script>\n\n<div onclick=\"x()\">block</div>\n\n"
            "[click](javascript:alert(1)) ![img](https://evil.example/x.png)")
    assert web.post(f"/dashboard/rules/{number}/edit/emails", {"assessment_plan.subject": "<b>Your plan</b>",
                                                               "assessment_plan.body": body}).status_code == 200
    web.get(f"/dashboard/rules/{number}/publish")
    assert web.post(f"/dashboard/rules/{number}/publish", {}).status_code == 302
    email = plan_email("escaped@example.com")
    i = email.html_body.find("<script>")
    assert i < 0, email.html_body[max(0, i - 300):i + 100]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html_body
    assert "<div onclick" not in email.html_body and "&lt;div onclick=&quot;x()&quot;&gt;" in email.html_body
    assert "javascript:" not in email.html_body.split("[click]")[0].split("href=")[-1]
    assert 'href="javascript' not in email.html_body and "<img" not in email.html_body
    assert email.subject == "<b>Your plan</b>"  # a subject is plain text (the MIME header, the outbox escapes it)


def test_a_question_moves_within_its_screen_group_only_when_its_conditions_allow(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    number = new_draft(web)
    url = f"/dashboard/rules/{number}/edit/questions"
    web.get(url)
    assert web.post(url, {"move": "sex:up"}).status_code == 200
    text = services.by_number(number).files[ASSESSMENT]
    assert text.index("- id: sex") < text.index("- id: age_band") and services.problems(
        services.by_number(number)) == []
    response = web.post(url, {"move": "restarting_after_break:up"})  # above the question its show_if reads
    assert response.status_code == 422
    assert "restarting_after_break" in field_error(response.get_data(as_text=True), "q.restarting_after_break.text")
    assert web.post(url, {"move": "restarting_after_break:down"}).status_code == 200  # back: valid again
    assert services.problems(services.by_number(number)) == []
    response = web.post(url, {"move": "sex:up", "q.age_band.text": "Your age?"})  # sex is first now
    assert response.status_code == 422
    assert "“sex” is already first in its section." in html.unescape(response.get_data(as_text=True))
    assert "Your age?" in services.by_number(number).files[ASSESSMENT]  # the other edits are saved


def test_coaches_get_403_and_every_form_needs_its_token(db_app):
    owner = sign_in(db_app, coach_with_password(db, is_owner=True, email="owner@motive.example"))
    number = new_draft(owner)
    coach = sign_in(db_app, coach_with_password(db, email="coach@motive.example"))
    coach.get("/dashboard/leads")
    assert coach.last_token  # a valid token: a coach is refused for the role, not the token
    for url in ("/dashboard/rules/edit", f"/dashboard/rules/{number}/edit", f"/dashboard/rules/{number}/edit/emails",
                f"/dashboard/rules/{number}/edit/questions", f"/dashboard/rules/{number}/edit/priority"):
        token = coach.last_token
        assert coach.get(url).status_code == 403, url
        coach.last_token = token
        assert coach.post(url, {}).status_code == (405 if url.endswith("edit") else 403), url
    assert coach.post("/dashboard/rules/edit/new", {}).status_code == 403
    for url in ("/dashboard/rules/edit/new", f"/dashboard/rules/{number}/edit/emails",
                f"/dashboard/rules/{number}/edit/sequences"):
        owner.get("/dashboard/rules/edit")
        owner._fresh_request()
        assert owner.client.post(url, data={"assessment_plan.subject": "x", "w.default.start": "09:00"}
                                 ).status_code == 400, url
    assert db.session.execute(select(RulesVersion)).scalars().all()[0].copy == {}
    assert owner.get("/dashboard/rules/99/edit").status_code == 404
    assert owner.get(f"/dashboard/rules/{number}/edit/colours").status_code == 404


def test_priority_points_bands_and_tier_actions(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    number = new_draft(web)
    url = f"/dashboard/rules/{number}/edit/priority"
    page = html.unescape(web.get(url).get_data(as_text=True))
    assert "fit.runner" in page and "Tier A1: suggested action" in page and "Fit A: from" in page
    response = web.post(url, {"p.fit.runner": "25", "b.fit_bands.A.gte": "65", "b.fit_bands.B.lt": "65",
                              "t.A1.action": "Call them today."})
    assert response.status_code == 200, html.unescape(response.get_data(as_text=True))[:3000]
    leads = services.load(services.by_number(number)).leads
    assert leads.tiers["A1"].action == "Call them today."
    assert [(b.name, b.lo, b.hi) for b in leads.fit_bands] == [("C", None, 30), ("B", 30, 65), ("A", 65, None)]
    response = web.post(url, {"b.fit_bands.B.lt": "50"})  # a gap between B and A
    assert response.status_code == 422 and "fit_bands" in html.unescape(response.get_data(as_text=True))
    web.post(url, {"b.fit_bands.B.lt": "65"})
    url = f"/dashboard/rules/{number}/edit/sequences"
    web.get(url)
    assert web.post(url, {"w.default.start": "09:30", "w.default.days": "mon, wed, fri"}).status_code == 200
    text = services.by_number(number).files[SEQUENCES]
    assert 'default: {days: [mon, wed, fri], start: "09:30", end: "20:00"}' in text


def test_a_follow_up_email_takes_the_owners_opening_and_keeps_its_button(db_app):
    from coachapp.emails.messages import render

    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    number = new_draft(web)
    context = {"first_name": "Dana", "result": {"priorities": [{"label": "Hip mobility", "score": 70}]},
               "strategy_url": "https://motive.example/strategy?t=1&x=2", "unsubscribe_url": "https://u.example/x"}
    built_in = render("nurture_strategy_invite", **context)
    web.get(f"/dashboard/rules/{number}/edit/emails")
    assert web.post(f"/dashboard/rules/{number}/edit/emails", {
        "nurture_strategy_invite.subject": "{{ first_name }}: a coach for your {{ top_priority }}?",
        "nurture_strategy_invite.body": "Hi {{ first_name }},\n\nTwo weeks in: want a second pair of eyes?",
        "nurture_case_story.subject": "A runner like you", "nurture_case_story.body": "Hi {{ first_name }}, a story.",
    }).status_code == 200
    assert render("nurture_strategy_invite", **context) == built_in  # a draft: nothing changes
    web.get(f"/dashboard/rules/{number}/publish")
    assert web.post(f"/dashboard/rules/{number}/publish", {}).status_code == 302
    owned = render("nurture_strategy_invite", **context)
    assert owned.subject == "Dana: a coach for your hip mobility?"
    assert "<p>Two weeks in: want a second pair of eyes?</p>" in owned.html
    assert "You've had your plan for a couple of weeks" not in owned.html
    assert 'href="https://motive.example/strategy?t=1&amp;x=2"' in owned.html  # the button stays
    assert "Two weeks in: want a second pair of eyes?" in owned.text
    assert "Book a free strategy session: https://motive.example/strategy?t=1&x=2" in owned.text
    assert "Unsubscribe: https://u.example/x" in owned.text
    story = render("nurture_case_story", **context, results_url="https://motive.example/r/1")
    assert story.subject == "A runner like you" and "<p>Hi Dana, a story.</p>" in story.html
    assert "A runner we coached" not in story.html and "Your plan: https://motive.example/r/1" in story.text
