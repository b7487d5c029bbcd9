"""A prospect on a phone: Chromium (Playwright) against a real server, a real
worker and the embedded default (SQLite, filesystem broker, captured email)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ON_CI, ROOT, clean_tables, dispose, free_port, migrate_up
from tests.helpers import DESK_ACHILLES, form_value
from tests.integration.conftest import Stack, app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "timezone_id": "America/Denver"}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if ON_CI:
            pytest.fail("Chromium is required on CI (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Stack]]:
    """The embedded default, served on loopback, with a real worker."""
    port = free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {**os.environ, "COACHAPP_INSTANCE": str(instance), "SECRET_KEY": "browser-secret",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'coachapp.sqlite'}",
           "CELERY_BROKER_DIR": str(tmp_path / "broker"), "CELERY_QUEUE": f"b-{uuid.uuid4().hex[:8]}",
           "BASE_URL": f"http://127.0.0.1:{port}"}
    for name in ("REDIS_URL", "SMTP_URL"):
        env.pop(name, None)
    app = app_for(env)
    migrate_up(app)
    clean_tables(app)
    stack = Stack(name="embedded", env=env, app=app)
    stack.start_worker()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", stack
    finally:
        server.shutdown()
        stack.stop()
        dispose(app)


def _fill_visible(page, answers: dict) -> None:
    """Answer whatever questions the current step shows, like a person tapping."""
    for qid, value in answers.items():
        inputs = page.locator(f'[name="{qid}"]')
        if inputs.count() == 0:
            continue
        kind = inputs.first.get_attribute("type")
        if kind in ("radio", "checkbox"):
            values = value if isinstance(value, list) else [value]
            for v in values:
                page.locator(f'[name="{qid}"][value="{form_value(v)}"]').check()
        else:
            inputs.first.fill(str(value))


def _complete_on_phone(page, base: str, answers: dict) -> None:
    page.goto(f"{base}/assessment?utm_source=instagram")
    page.get_by_role("button", name="Start the free assessment").click()
    for _ in range(12):
        if "/contact" in page.url:
            break
        before = page.url
        _fill_visible(page, answers)
        page.get_by_role("button", name="Next").click()
        if page.url == before:  # follow-up questions revealed: answer them too
            _fill_visible(page, answers)
            page.get_by_role("button", name="Next").click()
        assert page.locator(".error").count() == 0, page.locator(".error").all_inner_texts()
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Email", exact=True).fill("dana@example.com")
    page.locator('[name="consent_health"]').check()
    page.get_by_role("button", name="Show my plan").click()


def test_phone_completes_assessment_and_plan_email_appears_in_outbox(browser, live):
    base, _ = live
    context = browser.new_context(**PHONE)
    page = context.new_page()
    _complete_on_phone(page, base, DESK_ACHILLES)
    page.wait_for_url("**/results")
    assert page.get_by_role("heading", name="Your running mobility priorities").is_visible()
    first = page.locator(".priority h2").first.inner_text()
    assert "Ankle dorsiflexion" in first
    assert page.get_by_role("heading", name="Your week").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
        "the results page scrolls sideways on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results-phone.png"), full_page=True)

    results_url = page.url

    page.goto(f"{base}/outbox/")
    for _ in range(40):  # "within seconds"
        if page.locator("td.status-sent").count():
            break
        page.wait_for_timeout(250)
        page.reload()
    assert page.locator("td.status-sent").count() == 1
    page.locator("table a").first.click()
    assert "Ankle dorsiflexion" in page.locator("pre.mail-text").inner_text()

    # The call to action: the strategy session, prefilled from the assessment.
    page.goto(results_url)
    page.get_by_role("link", name="Book a free strategy session").click()
    assert page.get_by_label("First name").input_value() == "Dana"
    assert page.locator("#time_zone").input_value() == "America/Denver"  # detected in the browser
    page.get_by_label("What are you working toward?").fill("Run the Austin Marathon pain-free.")
    page.locator('[name="services"][value="mobility_coaching"]').check()
    page.locator('[name="delivery"][value="online"]').check()
    page.locator('[name="start_timing"][value="asap"]').check()
    page.locator('[name="preferred_contact"][value="email"]').check()
    page.locator('[name="consent"]').check()
    page.get_by_role("button", name="Request my free session").click()
    page.wait_for_url("**/strategy-session/thanks/**")
    assert page.get_by_role("heading", name="What happens next").is_visible()
    assert "MST" in page.content() or "MDT" in page.content()  # the prospect's own time zone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "strategy-thanks-phone.png"), full_page=True)
    context.close()


def test_assessment_works_without_javascript(browser, live):
    base, _ = live
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(f"{base}/assessment")
    page.get_by_role("button", name="Start the free assessment").click()
    page.get_by_role("button", name="Next").click()  # nothing answered
    assert page.locator(".error-summary").is_visible()
    assert page.locator(".error").count() >= 1
    _fill_visible(page, DESK_ACHILLES)
    page.get_by_role("button", name="Next").click()
    assert page.url.endswith("/safety")
    page.get_by_role("button", name="Back").click()
    assert page.url.endswith("/about_you")
    assert page.locator('[name="age_band"][value="30-39"]').is_checked()
    context.close()
