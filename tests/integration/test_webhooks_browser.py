"""The owner's Webhooks pages in Chromium at 390 px and 1280 px: no sideways scroll, no axe-core
violations, a full-page screenshot of each in test-artifacts/; adding an endpoint through the
form shows its signing secret; replay from the delivery page queues it again."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.helpers import DESK_ACHILLES
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import (
    OWNER_EMAIL,
    VIEWPORTS,
    check_page,
    live_site,
    open_from_nav,
    open_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LONG_URL = "https://hooks.extremely-long-integration-platform-domain.example.com/catch/1234567/abcdefghijklmnop/"
LONG_ERROR = ("<!DOCTYPE html><html><head><title>410 Gone</title></head><body><h1>Gone</h1><p>The hook "
              "https://hooks.extremely-long-integration-platform-domain.example.com/catch/1234567 was turned off</p>")


@dataclass
class Site:
    base: str
    app: object
    endpoint_id: int
    failed_id: int


def _seed() -> tuple[int, int]:
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import WebhookDelivery, utcnow
    from coachapp.webhooks_out import endpoints
    from tests.helpers import complete_assessment

    owner = coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True, time_zone="America/Denver")
    endpoint = endpoints.create(LONG_URL, ["lead.created", "assessment.completed", "lead.stage_changed"],
                                "Zapier: new leads into the CRM", owner, utcnow())
    endpoints.create("https://crm.example.com/hooks", ["lead.unsubscribed"], "", owner, utcnow())
    db.session.commit()
    for n in range(3):
        complete_assessment(DESK_ACHILLES, f"runner{n}.with-a-long-address@extremely-long-running-club.example.com",
                            first_name="Maximiliana")
    rows = db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars().all()
    rows[0].status, rows[0].attempts, rows[0].last_status_code, rows[0].last_error = "failed", 1, 410, LONG_ERROR
    rows[1].status, rows[1].attempts, rows[1].last_status_code, rows[1].sent_at = "sent", 2, 200, utcnow()
    rows[2].attempts, rows[2].last_status_code, rows[2].last_error = 1, 503, "Service Unavailable"
    db.session.commit()
    return endpoint.id, rows[0].id


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webhooks-pages")
    with live_site(tmp, "wh", _seed) as (base, app, seeded):
        yield Site(base, app, *seeded)


def _open(site, owner, width: int, path: str):
    return open_page(owner, site.base, width, path)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_webhooks_list_and_add_form(site, owner, width):
    page = _open(site, owner, width, "/dashboard/")
    try:
        open_from_nav(page, width, "Webhooks")
        page.wait_for_url("**/dashboard/webhooks")
        assert page.get_by_role("heading", name="Webhooks", level=1).is_visible()
        assert page.get_by_role("link", name=LONG_URL).is_visible()
        check_page(page, f"dashboard-webhooks-{width}.png")
        page.get_by_label("Endpoint URL").fill("ftp://nope.example")
        with page.expect_navigation():
            page.get_by_role("button", name="Add endpoint").click()
        assert page.get_by_text("Enter an http:// or https:// URL.").is_visible()
        check_page(page, f"dashboard-webhooks-error-{width}.png")
        page.get_by_label("Endpoint URL").fill(f"https://receiver-{width}.example.com/in")
        page.get_by_label("lead.unsubscribed: The lead unsubscribed from emails").check()
        page.get_by_role("button", name="Add endpoint").click()
        page.wait_for_url("**/dashboard/webhooks/*")
        secret = page.locator("#signing-secret")
        assert secret.is_visible() and secret.inner_text().startswith("whsec_")
        check_page(page, f"dashboard-webhook-new-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_delivery_log_and_detail(site, owner, width):
    page = _open(site, owner, width, f"/dashboard/webhooks/{site.endpoint_id}")
    try:
        assert not page.locator("#signing-secret").is_visible()  # behind the reveal
        page.get_by_text("Signing secret").click()
        assert page.locator("#signing-secret").is_visible()
        assert page.get_by_text("HTTP 410").first.is_visible()
        check_page(page, f"dashboard-webhook-log-{width}.png")
        page.goto(f"{site.base}/dashboard/webhooks/deliveries/{site.failed_id}")
        assert page.get_by_role("heading", name="Payload").is_visible()
        assert "submission_id" in page.locator("#delivery-payload pre").inner_text() or \
            "lead_id" in page.locator("#delivery-payload pre").inner_text()
        check_page(page, f"dashboard-webhook-delivery-{width}.png")
    finally:
        page.close()


def test_replay_from_the_delivery_page(site, owner):
    page = _open(site, owner, 1280, f"/dashboard/webhooks/deliveries/{site.failed_id}")
    try:
        with page.expect_navigation():
            page.get_by_role("button", name="Replay").click()
        assert page.get_by_text("Delivery queued again").is_visible()
        assert page.locator("h1 .tag").inner_text() == "queued"
        check_page(page, "dashboard-webhook-replayed-1280.png")
    finally:
        page.close()
