"""The owner's Rules pages in Chromium at 390 px and 1280 px: the versions list (live marked,
rollback, compare picker, audit log) and the compare view (a unified diff that wraps on a phone),
plus a version's page and the publish confirmation; no sideways scroll, no axe-core violations,
a full-page screenshot of each in test-artifacts/. Publishing through the confirmation goes live."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.helpers_dashboard import coach_with_password
from tests.helpers_rules_versions import NEW_LABEL, OLD_LABEL, edited_copy, import_draft
from tests.integration.browser_kit import (
    OWNER_EMAIL,
    PHONE,
    VIEWPORTS,
    check_page,
    live_site,
    open_from_nav,
    open_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LONG_INTRO = ("Quick questions about your day, your joints and the running you do now, so the plan fits the "
              "week you actually have: how you spend the day shapes how your hips and upper back move.")


@dataclass
class Site:
    base: str
    app: object


def _seed(tmp) -> None:
    from coachapp.extensions import db
    from coachapp.models import utcnow
    from coachapp.rules_versions import services

    owner = coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True, time_zone="America/Denver")
    actor = services.Actor.coach(owner)
    first = import_draft(edited_copy(tmp, name="v1"), note="Friendlier age question")
    services.publish(first.id, actor, utcnow())
    db.session.commit()
    second = import_draft(edited_copy(tmp, old="Quick questions about your day and your joints. How you spend the "
                                      "day shapes how your hips and upper back move.", new=LONG_INTRO, name="v2"),
                          note="A longer intro for the first section, written with the coach after the spring "
                               "workshop; checked against the time budget")
    services.publish(second.id, actor, utcnow())
    db.session.commit()
    import_draft(edited_copy(tmp, old="Under 18", new="Younger than 18", name="v3"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rules-pages")
    with live_site(tmp, "rv", lambda: _seed(tmp)) as (base, app, seeded):
        yield Site(base, app)


def _open(site, owner, width: int, path: str):
    return open_page(owner, site.base, width, path)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_versions_list_and_compare(site, owner, width):
    page = _open(site, owner, width, "/dashboard/")
    try:
        open_from_nav(page, width, "Rules")
        page.wait_for_url("**/dashboard/rules")
        assert page.get_by_role("heading", name="Rules", level=1).is_visible()
        assert page.get_by_role("button", name="Roll back to v1").is_visible()
        assert page.locator("#versions").get_by_text("live", exact=True).is_visible()
        check_page(page, f"dashboard-rules-{width}.png")
        page.get_by_label("From").select_option("2")
        page.get_by_label("To").select_option("3")
        page.get_by_role("button", name="Compare").click()
        page.wait_for_url("**/dashboard/rules/compare?a=2&b=3")
        assert page.get_by_text("1 file changed").is_visible()
        assert page.locator("pre.diff ins").filter(has_text="Younger than 18").is_visible()
        assert page.locator("pre.diff del").filter(has_text=LONG_INTRO[:60]).is_visible()
        check_page(page, f"dashboard-rules-compare-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_version_page_and_publish_confirmation(site, owner, width):
    page = _open(site, owner, width, "/dashboard/rules/3")
    try:
        page.get_by_text("assessment/runner_assessment.yaml").click()  # open the file
        assert page.locator("details.rules-file[open] pre").is_visible()
        check_page(page, f"dashboard-rules-version-{width}.png")
        page.get_by_role("link", name="Publish v3…").click()
        page.wait_for_url("**/dashboard/rules/3/publish")
        assert page.get_by_role("heading", name="Publish rules v3?").is_visible()
        check_page(page, f"dashboard-rules-publish-{width}.png")
    finally:
        page.close()


def test_publishing_through_the_confirmation_goes_live(site, owner, browser):
    page = _open(site, owner, 1280, "/dashboard/rules/3/publish")
    try:
        page.get_by_role("button", name="Publish v3 now").click()
        page.wait_for_url("**/dashboard/rules")
        assert page.get_by_text("v3 is live").is_visible()
        runner = browser.new_context(**PHONE).new_page()
        runner.goto(site.base + "/assessment")
        runner.get_by_role("button", name="Start the free assessment").click()
        runner.wait_for_url("**/assessment/*/*")
        assert runner.get_by_text("Younger than 18").is_visible() and runner.get_by_text(OLD_LABEL).is_visible()
        assert not runner.get_by_text(NEW_LABEL).is_visible()  # v1's wording left with v1
        runner.context.close()
    finally:
        page.close()
