"""Insights → Priority weights in Chromium on a 390 px phone and a 1280 px laptop, signed in as the
owner over a seeded data set (a fit with a proposed diff) and over an empty one (too few
outcomes), and "Fit now" queueing a fit: no sideways scroll, no axe-core violations, the diff
downloads, full-page screenshots in test-artifacts/ (weights-*.png)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers_dashboard import coach_with_password
from tests.helpers_weights import seed_outcomes
from tests.integration.browser_kit import VIEWPORTS, check_page, embedded_env, serving, sign_in_page
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER = "brian.murray@motive-training.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("weights-pages")
    port = free_port()
    app = app_for(embedded_env(tmp, port, "w"))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        from coachapp.extensions import db
        from coachapp.leads import weight_fits
        from coachapp.leads.weights_outcomes import DECIDED_AFTER_DAYS
        from coachapp.models import utcnow
        from coachapp.rules_store import get_rules

        coach_with_password(db, name="Brian Murray", email=OWNER, is_owner=True, time_zone="America/Denver")
        seed_outcomes(2000, utcnow())
        # two fits done (no worker here): on all leads, and on leads created since 2099 (none)
        for since in (None, date(2099, 1, 1)):
            weight_fits.fit_now(get_rules(), app.config["RULES_DIR"], since, DECIDED_AFTER_DAYS, "Brian Murray")
    try:
        with serving(app, port) as base:
            yield base
    finally:
        dispose(app)


def _signed_in(browser, site, width):
    context = browser.new_context(**VIEWPORTS[width], accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in_page(page, site, OWNER)
    return context, page


@pytest.mark.parametrize("width", VIEWPORTS)
def test_weights_page_with_a_fit(site, browser, width):
    context, page = _signed_in(browser, site, width)
    try:
        page.goto(f"{site}/dashboard/insights")
        page.get_by_role("link", name="Priority weights").click()
        page.wait_for_url("**/dashboard/insights/weights")
        assert page.get_by_role("heading", name="Priority weights", level=1).is_visible()
        assert page.get_by_role("rowheader", name="fit.desk_bound").is_visible()
        check_page(page, f"weights-fit-{width}.png")
        with page.expect_download() as info:
            page.get_by_role("link", name="Download the proposed priority.yaml diff").click()
        assert info.value.suggested_filename == "priority.yaml.diff"
        assert "+++ b/rules/leads/priority.yaml" in Path(info.value.path()).read_text(encoding="utf-8")
        page.goto(f"{site}/dashboard/insights/weights?since=2099-01-01")
        assert page.get_by_text("Too few outcomes to fit").is_visible()
        check_page(page, f"weights-too-few-{width}.png")
        page.get_by_label("Leads created since (optional)").fill("2026-01-01")
        page.get_by_role("button", name="Fit now").click()
        page.wait_for_url("**/weights?since=2026-01-01")
        assert page.get_by_text("Fitting in the background").is_visible()
        assert page.get_by_text("waiting for the worker").is_visible()  # no worker in this test
        assert page.get_by_text("No fit yet for the leads created since 2026-01-01").is_visible()
        check_page(page, f"weights-queued-{width}.png")
    finally:
        context.close()
