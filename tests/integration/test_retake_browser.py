"""A retake's comparison in Chromium on a 390 px phone and a 1280 px laptop: the runner's results
page and the coach's lead page, each with the "since your last assessment" section and a chart
per self-test — no sideways scroll, no axe-core violations, a full-page screenshot of each in
test-artifacts/ (retake-*.png)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers import CORE, complete_assessment
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import (
    ARTIFACTS,
    VIEWPORTS,
    check_page,
    embedded_env,
    fresh_page,
    serving,
    sign_in_page,
)
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER = "brian.murray@motive-training.example"
ATTEMPTS = [  # ankle restricted, then better beyond the MDC; upper back one step better on the left
    {"ktw_left_cm": 7, "ktw_right_cm": 7.5, "trot_left": "well_short", "trot_right": "on_line",
     "heel_raise_left_reps": 18, "heel_raise_right_reps": 24},
    {"ktw_left_cm": 8.5, "ktw_right_cm": 8, "trot_left": "well_short", "trot_right": "on_line",
     "heel_raise_left_reps": 21, "heel_raise_right_reps": 25},
    {"ktw_left_cm": 11, "ktw_right_cm": 9, "trot_left": "short_hand_width", "trot_right": "on_line",
     "heel_raise_left_reps": 26, "heel_raise_right_reps": 25},
]


@dataclass
class Site:
    base: str
    token: str
    lead_id: int
    signed: str  # the retake link's signed part
    app: object


def _seed() -> tuple[str, int, str]:
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import AssessmentSubmission, utcnow

    coach_with_password(db, name="Brian Murray", email=OWNER, is_owner=True, time_zone="America/Denver")
    now = utcnow()
    for i, tests in enumerate(ATTEMPTS):
        lead = complete_assessment({**CORE, **tests}, "returning.runner@example.com",
                                   now=now - timedelta(days=42 * (len(ATTEMPTS) - 1 - i)))
    token = db.session.execute(select(AssessmentSubmission.token).order_by(AssessmentSubmission.id.desc())
                               ).scalars().first()
    from coachapp.links import retake_token

    return token, lead.id, retake_token(lead.id)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retake-pages")
    port = free_port()
    app = app_for(embedded_env(tmp, port, "r"))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        token, lead_id, signed = _seed()
    try:
        with serving(app, port) as base:
            yield Site(base, token, lead_id, signed, app)
    finally:
        dispose(app)


def _charts_fit(page, section) -> None:
    """Every chart is drawn inside the screen, at a readable size."""
    for svg in section.locator("svg.progress-chart").all():
        box = svg.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5, box
        assert box["width"] >= 280, box  # 320 units → no text under ~11.5 px


@pytest.mark.parametrize("width", VIEWPORTS)
def test_results_page_shows_the_comparison(site, browser, width):
    with fresh_page(browser, width) as page:
        page.goto(f"{site.base}/assessment/{site.token}/results")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"retake-results-first-screen-{width}.png"))
        assert page.get_by_role("link", name="Since your last assessment on", exact=False).is_visible()
        section = page.locator("section.progress")
        heading = section.get_by_role("heading", level=2)
        assert heading.inner_text().startswith("Since your last assessment on")
        assert section.locator("svg.progress-chart").count() == 3
        assert section.get_by_text("Left: 8.5 cm → 11 cm, improved by 2.5 cm").is_visible()
        assert section.get_by_text("Right: 8 cm → 9 cm, within measurement error", exact=False).is_visible()
        assert section.locator("table.progress-table").count() == 3
        img = section.get_by_role("img", name="Knee-to-wall (ankle bend): left and right over your attempts")
        assert img.count() == 1
        _charts_fit(page, section)
        section.scroll_into_view_if_needed()
        check_page(page, f"retake-results-{width}.png")
        first = section.locator("article.progress-test").first
        first.screenshot(path=str(ARTIFACTS / f"retake-results-chart-{width}.png"))


@pytest.mark.parametrize("width", VIEWPORTS)
def test_lead_page_shows_the_same_comparison(site, browser, width):
    with fresh_page(browser, width) as page:
        sign_in_page(page, site.base, OWNER)
        page.goto(f"{site.base}/dashboard/leads/{site.lead_id}")
        section = page.locator("section.progress").first
        assert section.get_by_role("heading", level=3).first.inner_text().startswith("Since the last assessment on")
        assert section.locator("svg.progress-chart").count() == 3
        assert section.get_by_text("Left: 8.5 cm → 11 cm, improved by 2.5 cm").is_visible()
        _charts_fit(page, section)
        check_page(page, f"retake-lead-{width}.png")
        section.screenshot(path=str(ARTIFACTS / f"retake-lead-section-{width}.png"))


@pytest.mark.parametrize("width", VIEWPORTS)
def test_retake_link_pages(site, browser, width):
    with fresh_page(browser, width) as page:
        page.goto(f"{site.base}/assessment/retake/{site.signed}")
        assert page.get_by_role("heading", name="Welcome back, Dana").is_visible()
        check_page(page, f"retake-choice-{width}.png")
        response = page.goto(f"{site.base}/assessment/retake/{site.signed[:-3]}abc")
        assert response.status == 404
        assert page.get_by_role("alert").inner_text().startswith("This retake link doesn")
        check_page(page, f"retake-bad-link-{width}.png")
        page.goto(f"{site.base}/assessment/retake/{site.signed}")
        page.get_by_role("button", name="Retake only the self-tests").click()
        page.wait_for_url("**/knee_to_wall")
        assert page.locator("input[name=ktw_left_cm]").input_value() == ""  # never prefilled


@pytest.mark.parametrize("width", VIEWPORTS)
def test_retake_email_draws_the_charts(site, browser, width):
    """The retake's plan email, as the captured mailbox shows it (the email's HTML in a sandboxed
    frame, as a mail app would): the same charts as the results page, inside the screen."""
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import OutboxMessage

    with site.app.app_context():
        email_id = db.session.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "assessment_plan")
                                      .order_by(OutboxMessage.id.desc()).limit(1)).scalar_one()
    with fresh_page(browser, width) as page:
        sign_in_page(page, site.base, OWNER)
        page.goto(f"{site.base}/outbox/{email_id}")
        frame = page.frame_locator("iframe").first
        charts = frame.locator("svg.progress-chart")
        expect(charts).to_have_count(3)
        expect(frame.get_by_text("Left: 8.5 cm → 11 cm, improved by 2.5 cm")).to_be_visible()
        img = frame.get_by_role("img", name="Knee-to-wall (ankle bend): left and right over your attempts")
        expect(img).to_have_count(1)
        frame_box = page.locator("iframe").first.bounding_box()
        for svg in charts.all():
            box = svg.bounding_box()
            right = frame_box["x"] + frame_box["width"] + 0.5
            assert box and frame_box["x"] <= box["x"] and box["x"] + box["width"] <= right, (box, frame_box)
        check_page(page, f"retake-email-{width}.png", frames=True)
        charts.first.locator("xpath=..").screenshot(path=str(ARTIFACTS / f"retake-email-chart-{width}.png"))
