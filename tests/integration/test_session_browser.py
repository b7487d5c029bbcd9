"""The session slot picker in Chromium on a 390 px phone and a 1280 px laptop: the thanks page
with the picker, the confirmation, the reschedule picker, the cancel question and Today's
attended / no-show buttons — no sideways scroll, no axe-core violations, big tap targets, a
full-page screenshot of each in test-artifacts/ (session-*.png)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.conftest import Browserish, clean_tables, dispose, free_port, migrate_up
from tests.helpers_dashboard import coach_with_password
from tests.helpers_strategy import STRATEGY_FORM
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
from tests.sessions.helpers import ALWAYS

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER = "brian.murray@motive-training.example"


@dataclass
class Site:
    base: str
    tokens: dict[int, str]  # width → the strategy request whose thanks page holds the picker


def _seed(app) -> dict[int, str]:
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import Booking, Lead, StrategyRequest, utcnow

    coach_with_password(db, name="Brian Murray", email=OWNER, is_owner=True, time_zone="America/Denver",
                        working_hours=ALWAYS)
    tokens = {}
    for width in VIEWPORTS:
        web = Browserish(app.test_client())
        web.get("/strategy-session")
        response = web.post("/strategy-session", {**STRATEGY_FORM, "email": f"runner{width}@example.com",
                                                  "time_zone": "America/Denver"})
        assert response.status_code == 302, response.get_data(as_text=True)[:1000]
        tokens[width] = db.session.execute(select(StrategyRequest.token).order_by(StrategyRequest.id.desc())
                                           ).scalars().first()
    web = Browserish(app.test_client())  # a session that started 20 minutes ago: Today's buttons
    web.get("/strategy-session")
    web.post("/strategy-session", {**STRATEGY_FORM, "email": "maximiliana.featherstonehaugh@example.com",
                                   "first_name": "Maximiliana"})
    lead = db.session.execute(select(Lead).where(Lead.first_name == "Maximiliana")).scalar_one()
    start = utcnow() - timedelta(minutes=20)
    db.session.add(Booking(lead_id=lead.id, provider="coachapp", uid="browser-1", coach_id=lead.owner_id,
                           start_at=start, end_at=start + timedelta(minutes=30), status="booked", stage_before="new"))
    lead.stage = "session_booked"
    db.session.commit()
    return tokens


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("session-pages")
    port = free_port()
    app = app_for(embedded_env(tmp, port, "s"))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        tokens = _seed(app)
    try:
        with serving(app, port) as base:
            yield Site(base, tokens)
    finally:
        dispose(app)


def _big(locator) -> None:
    box = locator.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44, box


@pytest.mark.parametrize("width", VIEWPORTS)
def test_pick_confirm_reschedule_and_cancel_question(site, browser, width):
    with fresh_page(browser, width) as page:
        page.goto(f"{site.base}/strategy-session/thanks/{site.tokens[width]}")
        assert page.get_by_role("heading", name="Pick a time for your call").is_visible()
        assert "Mountain" in page.content() or "Denver" in page.content()
        first = page.locator(".choice.slot").first
        _big(first)
        check_page(page, f"session-picker-{width}.png")
        page.screenshot(path=str(ARTIFACTS / f"session-picker-first-screen-{width}.png"))
        first.click()
        _big(page.get_by_role("button", name="Book this time"))
        page.get_by_role("button", name="Book this time").click()
        page.wait_for_url("**/session/**")
        assert page.get_by_role("heading", name="You're booked").is_visible()
        check_page(page, f"session-booked-{width}.png")
        page.get_by_role("link", name="Pick another time").click()
        page.wait_for_url("**/reschedule")
        assert page.get_by_role("heading", name="Pick a new time").is_visible()
        check_page(page, f"session-reschedule-{width}.png")
        page.locator(".choice.slot:visible").last.click()  # another time in the open day (the hour decides how many)
        page.get_by_role("button", name="Move my session to this time").click()
        page.wait_for_url("**/session/*")  # the session page ("**/session/**" is the reschedule page too)
        assert page.get_by_role("heading", name="You're booked").is_visible()
        page.get_by_role("link", name="Cancel the session").click()
        page.wait_for_url("**/cancel")
        check_page(page, f"session-cancel-{width}.png")
        _big(page.get_by_role("button", name="Yes, cancel the session"))


@pytest.mark.parametrize("width", VIEWPORTS)
def test_today_has_attended_and_no_show_buttons(site, browser, width):
    with fresh_page(browser, width) as page:
        sign_in_page(page, site.base, OWNER)
        section = page.locator("#session-1, article.session").first
        assert section.is_visible()
        for name in ("Attended", "No-show"):
            _big(section.get_by_role("button", name=name))
        check_page(page, f"session-today-{width}.png")
