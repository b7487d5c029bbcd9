"""What if (issue 15.3): a sample runner or typed answers under the live rules and a draft,
side by side, every difference stated in words; "no difference" for an identical draft."""

from __future__ import annotations

import html
import re

import pytest

from coachapp.extensions import db
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_replay import identical_draft, threshold_draft
from tests.helpers_rules_versions import versions_cleared  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("versions_cleared")


@pytest.fixture
def owner_web(db_app):
    owner = coach_with_password(db, is_owner=True, name="Olive Owner", email="olive@motive.example")
    return sign_in(db_app, owner)


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def test_a_changed_draft_shows_the_differences_in_words(db_app, owner_web, tmp_path):
    draft = threshold_draft(tmp_path)
    page = owner_web.get(f"/dashboard/rules/{draft.number}/whatif")
    assert page.status_code == 200
    body = text(page)
    # the default runner: stiff ankles score 50 — a priority under live (40), not under the draft (55)
    assert "What if: v1 against shipped files" in body and "Live (shipped files)" in body
    assert 'id="differences"' in body
    assert "Top priority: Ankle dorsiflexion under live, none under the draft." in body
    assert "Plan: " in body and "Lead tier" in body

    # the same answers typed into the form, then one changed: no knee-to-wall test
    form = {"action": "compare", "sample": "persona:stiff_ankle", "a.age_band": "30-39", "a.sex": "male",
            "a.desk_hours": ">10", "present.feels_tight": "1", "a.feels_tight": "calves",
            "a.ktw_left_cm": "7", "a.ktw_right_cm": "11", "a.current_pain_nrs": "0",
            "a.injury_history": "none", "present.sf_screen": "1", "a.sf_screen": "none"}
    compared = owner_web.post(f"/dashboard/rules/{draft.number}/whatif", form)
    assert compared.status_code == 200, text(compared)[:2000]
    assert "The answers in the form: live and v1" in text(compared)
    assert 'value="7"' in compared.get_data(as_text=True)

    bad = owner_web.post(f"/dashboard/rules/{draft.number}/whatif", {**form, "a.ktw_left_cm": "900"})
    assert bad.status_code == 422 and "ktw_left_cm: Enter a number from" in text(bad)


def test_an_identical_draft_says_no_difference(db_app, owner_web, tmp_path):
    draft = identical_draft(tmp_path)
    assert "No difference:" in text(owner_web.get(f"/dashboard/rules/{draft.number}/whatif"))
    for sample in ("persona:stiff_ankle", "persona:sore_knee", "persona:marathon_soon"):
        page = owner_web.post(f"/dashboard/rules/{draft.number}/whatif", {"action": "sample", "sample": sample})
        body = text(page)
        assert page.status_code == 200 and "No difference:" in body and 'id="differences"' not in body, sample
    unknown = owner_web.post(f"/dashboard/rules/{draft.number}/whatif", {"action": "sample", "sample": "persona:x"})
    assert unknown.status_code == 404 and "No sample 'persona:x'" in text(unknown)


def test_the_preview_renders_the_drafts_results_page_and_plan_email(db_app, owner_web, tmp_path):
    draft = threshold_draft(tmp_path)
    page = owner_web.get(f"/dashboard/rules/{draft.number}/preview")
    assert page.status_code == 200
    body = text(page)
    assert "Preview: v1 against shipped files" in body and "Subject:" in body
    # under live the sample's ankles are a priority; under the draft (threshold 55) they are not
    assert "Differs:" in body and "text" in body
    live_text = body[body.index('id="email-live"'):body.index('id="email-draft"')]
    draft_text = body[body.index('id="email-draft"'):]
    assert "YOUR PRIORITIES" in live_text and "Ankle" in live_text
    assert "YOUR PRIORITIES" not in draft_text
    for which in ("live", "draft"):
        for what in ("results", "email"):
            url = f"/dashboard/rules/{draft.number}/preview/{which}/{what}?sample=persona:stiff_calves_desk"
            frame = owner_web.get(url)
            assert frame.status_code == 200, (which, what)
            assert "sandbox" in frame.headers["Content-Security-Policy"] and "script-src" not in frame.headers[
                "Content-Security-Policy"]
            assert frame.headers["Cache-Control"] == "no-store"
    results_live = text(owner_web.get(f"/dashboard/rules/{draft.number}/preview/live/results"))
    results_draft = text(owner_web.get(f"/dashboard/rules/{draft.number}/preview/draft/results"))
    assert "ankle" in results_live.lower() and results_live != results_draft
    assert owner_web.get(f"/dashboard/rules/{draft.number}/preview/other/results").status_code == 404
    assert owner_web.get("/dashboard/rules/77/preview").status_code == 404

    same = identical_draft(tmp_path)
    body = text(owner_web.get(f"/dashboard/rules/{same.number}/preview?sample=persona:sore_knee"))
    assert "No difference:" in body and "the email is the same under both" in body


def test_the_preview_shows_the_drafts_own_email_copy(db_app, owner_web, tmp_path):
    """The owner's rewording of the plan email (the editor's ``copy``) shows in the draft's preview
    before it is published; the live side keeps the template's own subject."""
    from coachapp.models import utcnow
    from coachapp.rules_versions import services
    from coachapp.rules_versions.services import Actor

    draft = identical_draft(tmp_path)
    copy = {"assessment_plan": {"subject": "Your running plan, {{ first_name }}",
                                "body": "Hello {{ first_name }}, here is **your** plan."}}
    assert services.update_draft(draft, Actor(None, "test"), utcnow(), copy=copy) == []
    db.session.commit()
    body = text(owner_web.get(f"/dashboard/rules/{draft.number}/preview?sample=persona:stiff_calves_desk"))
    live_part = body[body.index('id="email-live"'):body.index('id="email-draft"')]
    draft_part = body[body.index('id="email-draft"'):]
    assert "Your running plan, " in draft_part and "Your running plan" not in live_part
    frame = owner_web.get(f"/dashboard/rules/{draft.number}/preview/draft/email?sample=persona:stiff_calves_desk")
    assert "<strong>your</strong> plan" in frame.get_data(as_text=True)
