"""The preview's "what changed" (issue 15.3, follow-up) in Chromium at 390 px and 1280 px: a draft
with a reworded question and two reworded emails — the list of changes, each changed email and the
changed screen framed under live and draft; the compare page and the publish confirmation with the
email copy's diff; a replay a dead worker left, offering "Run again". No sideways scroll, no
axe-core violations, a full-page screenshot of each in test-artifacts/."""

from __future__ import annotations

import pytest

from tests.helpers_dashboard import coach_with_password
from tests.helpers_rules_versions import NEW_LABEL, OLD_LABEL, edited_copy, import_draft
from tests.integration.browser_kit import DESKTOP, PHONE, check_page, live_site, sign_in_page

pytestmark = [pytest.mark.browser, pytest.mark.integration]

VIEWPORTS = {390: PHONE, 1280: DESKTOP}
OWNER_EMAIL = "pia.owner@motive-training.example"
COPY = {"nurture_case_story": {"subject": "{{ first_name }}, a runner like you",
                               "body": "Hi {{ first_name }},\n\nA story from **our** own runners."},
        "assessment_plan": {"subject": "Your plan, {{ first_name }}", "body": "Hello {{ first_name }}, here it is."}}


def _seed(tmp) -> None:
    from datetime import timedelta

    from coachapp.extensions import db
    from coachapp.models import utcnow
    from coachapp.rules_preview import replay
    from coachapp.rules_versions import services

    owner = coach_with_password(db, name="Pia Owner", email=OWNER_EMAIL, is_owner=True)
    draft = import_draft(edited_copy(tmp))
    services.update_draft(draft, services.Actor(None, "test"), utcnow(), copy=COPY)
    stuck = replay.start(draft, 1000, owner)  # never handed to a worker: stuck in "queued"
    stuck.created_at = utcnow() - timedelta(minutes=replay.STALE_MINUTES + 3)
    db.session.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rules-preview-changes")
    with live_site(tmp, "rpc", lambda: _seed(tmp)) as (base, _, _seeded):
        yield base


@pytest.fixture
def signed_in(browser, site, request):
    context = browser.new_context(**VIEWPORTS[request.node.callspec.params["width"]])
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in_page(page, site, OWNER_EMAIL)
    yield page
    context.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_preview_of_what_changed(signed_in, site, width):
    page = signed_in
    assert page.goto(f"{site}/dashboard/rules/1/preview").status == 200
    changes = page.locator("#changes")
    assert changes.get_by_text("assessment: question age_band text").is_visible()
    assert changes.get_by_text("Tips: invitation to retake the assessment: unchanged").is_visible()
    story = page.locator("#mail-nurture_case_story")
    assert story.locator(".mail-draft .subject").inner_text() == "Sam, a runner like you"
    assert "A story from our own runners." in page.frame_locator(
        "#mail-nurture_case_story .mail-draft iframe").locator("body").inner_text()
    assert "A runner we coached" in page.frame_locator(
        "#mail-nurture_case_story .mail-live iframe").locator("body").inner_text()
    screen = page.locator("#screen-age_band")
    assert NEW_LABEL in page.frame_locator("#screen-age_band .screen-draft iframe").locator("body").inner_text()
    assert OLD_LABEL in page.frame_locator("#screen-age_band .screen-live iframe").locator("body").inner_text()
    assert screen.is_visible()
    check_page(page, f"dashboard-rules-preview-changes-{width}.png", frames=True)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_compare_and_publish_show_the_copy_diff(signed_in, site, width):
    page = signed_in
    assert page.goto(f"{site}/dashboard/rules/compare?a=files&b=1").status == 200
    assert page.locator("#copy-diff-nurture_case_story").get_by_text("+A story from **our** own runners.").is_visible()
    check_page(page, f"dashboard-rules-compare-copy-{width}.png")
    assert page.goto(f"{site}/dashboard/rules/1/publish").status == 200
    assert page.locator("#copy-diff-assessment_plan").is_visible()
    check_page(page, f"dashboard-rules-publish-copy-{width}.png")


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_stuck_replay_offers_run_again(signed_in, site, width):
    page = signed_in
    assert page.goto(f"{site}/dashboard/rules/replays/1").status == 200
    assert page.get_by_role("button", name="Run again").is_visible()
    check_page(page, f"dashboard-rules-replay-stuck-{width}.png")
