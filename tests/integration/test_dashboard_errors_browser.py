"""Messages that replaced a 500 on the dashboard, as a person meets them in Chromium at 390 px
and 1280 px (no sideways scroll, no axe-core violations, a screenshot in test-artifacts/):

- the editor's "↓ Down" on a question whose options the next one shares (a YAML alias) says it
  cannot move, and the draft still opens;
- rescheduling a task to the last day of the calendar asks for a time within the next year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import OWNER_EMAIL, VIEWPORTS, check_page, live_site

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@dataclass
class Site:
    base: str
    app: object
    lead_id: int


def _seed() -> int:
    from coachapp.extensions import db
    from coachapp.models import CoachTask, utcnow

    owner = coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True, time_zone="America/Denver")
    lead = complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    lead.owner_id = owner.id
    db.session.add(CoachTask(lead_id=lead.id, coach_id=owner.id, kind="follow_up", title="Call Dana back",
                             due_at=utcnow() + timedelta(hours=2)))
    db.session.commit()
    return lead.id


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_site(tmp_path_factory.mktemp("dashboard-errors"), "de", _seed) as (base, app, lead_id):
        yield Site(base, app, lead_id)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_moving_a_question_past_the_one_sharing_its_options(site, owner, width):
    page = owner[width].new_page()
    try:
        page.goto(site.base + "/dashboard/rules/edit")
        page.get_by_role("button", name="New draft from the live version").click()
        page.wait_for_url("**/dashboard/rules/*/edit")
        number = page.url.rstrip("/").split("/")[-2]
        page.goto(f"{site.base}/dashboard/rules/{number}/edit/questions")
        page.locator('details:has(button[aria-label="Move hip_ir_picture_left down"]) > summary').click()
        down = page.get_by_role("button", name="Move hip_ir_picture_left down")
        with page.expect_navigation():
            down.click()
        alert = page.get_by_role("alert").filter(has_text="shares its options with “hip_ir_picture_right”")
        expect(alert).to_be_visible()
        check_page(page, f"dashboard-rules-move-refused-{width}.png")
        assert page.goto(f"{site.base}/dashboard/rules/{number}/edit/questions").status == 200
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_rescheduling_to_the_end_of_the_calendar(site, owner, width):
    page = owner[width].new_page()
    try:
        page.goto(f"{site.base}/dashboard/leads/{site.lead_id}")
        page.locator("details.reschedule summary").first.click()
        form = page.locator("form[action$='/reschedule']").first
        form.get_by_label("New due time (your time)").fill("9999-12-31T23:59")
        with page.expect_navigation():
            form.get_by_role("button").click()
        expect(page.get_by_text("Pick a time within the next year.")).to_be_visible()
        check_page(page, f"dashboard-reschedule-too-late-{width}.png")
    finally:
        page.close()
