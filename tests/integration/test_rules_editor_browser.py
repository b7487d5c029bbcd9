"""The owner's editor (issue 15.2) in Chromium at 390 px and 1280 px: start a draft from the live
version, the draft's overview, the question, email, timing and priority pages (one with a problem
shown next to its field); no sideways scroll, no axe-core violations, a full-page screenshot of
each in test-artifacts/. Saving through the form changes the draft, not the live site."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.helpers_dashboard import coach_with_password
from tests.helpers_rules_versions import OLD_LABEL
from tests.integration.browser_kit import (
    OWNER_EMAIL,
    VIEWPORTS,
    check_page,
    live_site,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@dataclass
class Site:
    base: str
    app: object


def _seed() -> None:
    from coachapp.extensions import db

    coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True, time_zone="America/Denver")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_site(tmp_path_factory.mktemp("rules-editor"), "re", _seed) as (base, app, _):
        yield Site(base, app)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_editor_pages(site, owner, width):
    page = owner[width].new_page()
    try:
        page.goto(site.base + "/dashboard/rules")
        page.get_by_role("link", name="Edit questions, emails, timing and priority").click()
        page.wait_for_url("**/dashboard/rules/edit")
        check_page(page, f"dashboard-rules-edit-start-{width}.png")
        page.get_by_role("button", name="New draft from the live version").click()
        page.wait_for_url("**/dashboard/rules/*/edit")
        number = page.url.rstrip("/").split("/")[-2]
        assert page.get_by_text("Nothing changes for prospects until you publish it").is_visible()
        check_page(page, f"dashboard-rules-edit-{width}.png")

        page.get_by_role("link", name="Questions").click()
        page.wait_for_url(f"**/dashboard/rules/{number}/edit/questions")
        page.get_by_label("Question (age_band)").fill("")
        with page.expect_navigation():
            page.get_by_role("button", name="Save draft").first.click()
        field = page.get_by_label("Question (age_band)")
        assert field.get_attribute("aria-invalid") == "true"
        assert page.locator("#problems").get_by_text("'text' must be a non-empty string").is_visible()
        check_page(page, f"dashboard-rules-edit-questions-{width}.png")
        field.fill(f"{OLD_LABEL} (in years)")
        with page.expect_navigation():
            page.get_by_role("button", name="Save draft").first.click()
        assert page.get_by_text(f"Saved in v{number}.").is_visible() and not page.locator("#problems").count()

        page.goto(f"{site.base}/dashboard/rules/{number}/edit/emails")
        page.locator("#assessment_plan-subject").fill("{{ first_name }}, your plan ({{ shoe_size }})")
        page.locator("#assessment_plan-body").fill("Hi **{{ first_name }}**,\n\nHere is your plan.")
        with page.expect_navigation():
            page.get_by_role("button", name="Save draft").click()
        error = page.locator("#assessment_plan-subject-error")
        assert error.get_by_text("Unknown variable {{ shoe_size }}").is_visible()
        check_page(page, f"dashboard-rules-edit-emails-{width}.png")

        for area in ("sequences", "priority"):
            page.goto(f"{site.base}/dashboard/rules/{number}/edit/{area}")
            check_page(page, f"dashboard-rules-edit-{area}-{width}.png")
        page.goto(f"{site.base}/assessment")
        page.get_by_role("button", name="Start the free assessment").click()
        page.wait_for_url("**/assessment/*/*")
        assert page.get_by_text(OLD_LABEL, exact=True).is_visible()  # a draft: the live site is unchanged
    finally:
        page.close()
