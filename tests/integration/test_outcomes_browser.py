"""Insights → Outcomes in Chromium on a 390 px phone and a 1280 px laptop, with data (600 seeded leads
with outcomes, so rates, intervals and "too few leads to say" all show): no sideways scroll, no
axe-core violations, an answer table opened, a full-page screenshot of each in test-artifacts/
(outcomes-*.png)."""

from __future__ import annotations

import pytest

from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers_dashboard import coach_with_password
from tests.helpers_outcomes import seed, specs
from tests.integration.browser_kit import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    check_page,
    embedded_env,
    fresh_page,
    launch_chromium,
    serving,
    sign_in_page,
)
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

VIEWPORTS = {390: PHONE, 1280: DESKTOP}
OWNER = "brian.murray@motive-training.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outcomes-page")
    port = free_port()
    app = app_for(embedded_env(tmp, port, "o"))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        from coachapp.extensions import db
        from coachapp.models import utcnow

        coach_with_password(db, name="Brian Murray", email=OWNER, is_owner=True, time_zone="America/Denver")
        seed(specs(600, utcnow()))
    try:
        with serving(app, port) as base:
            yield base
    finally:
        dispose(app)


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_outcomes_page_with_data(site, browser, width):
    with fresh_page(browser, width) as page:
        sign_in_page(page, site, OWNER)
        page.goto(f"{site}/dashboard/insights")
        page.get_by_role("link", name="Outcomes").click()
        page.wait_for_url("**/dashboard/insights/outcomes*")
        assert page.get_by_role("heading", name="Does the tier predict who becomes a client?").is_visible()
        assert page.get_by_text("too few leads to say").first.is_visible()
        assert page.locator(".interval").count() > 20
        assert page.get_by_role("img", name="Client rate by predicted tier, with 95% intervals").is_visible()
        page.get_by_text("Are you training for an event?").click()  # open one answer table
        assert page.get_by_role("region", name="Are you training for an event? (table)").is_visible()
        check_page(page, f"outcomes-{width}.png")
        page.screenshot(path=str(ARTIFACTS / f"outcomes-first-screen-{width}.png"))
        for part in ("calibration", "source", "answers"):
            page.locator(f"section[aria-labelledby=h-{part}]").screenshot(
                path=str(ARTIFACTS / f"outcomes-{part}-{width}.png"))
        page.get_by_role("link", name="Last 52 weeks").click()
        page.wait_for_url("**weeks=52")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download these tables (CSV)").click()
        assert download.value.suggested_filename.endswith("-last-52-weeks.csv")
