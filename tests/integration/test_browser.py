"""A prospect on a phone: Chromium (Playwright) against a real server, a real
worker and the embedded default (SQLite, filesystem broker, captured email)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers import DESK_ACHILLES, form_value
from tests.integration.browser_kit import ARTIFACTS, PHONE, check_page, embedded_env, serving
from tests.integration.conftest import Stack, app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Stack]]:
    """The embedded default, served on loopback, with a real worker."""
    port = free_port()
    env = embedded_env(tmp_path, port, "b")
    app = app_for(env)
    migrate_up(app)
    clean_tables(app)
    stack = Stack(name="embedded", env=env, app=app)
    stack.start_worker()
    try:
        with serving(app, port) as base:
            yield base, stack
    finally:
        stack.stop()
        dispose(app)


def _answer_screen(page, answers: dict) -> int:
    """Answer the questions on this screen like a person tapping; returns the taps used.
    A screen that moves on by itself (one single-tap question) needs no Next."""
    taps = 0
    names = page.eval_on_selector_all(
        "form[data-assessment] [name]", "els => [...new Set(els.map(e => e.name))]")
    for qid in names:
        if qid not in answers:
            continue
        value = answers[qid]
        inputs = page.locator(f'[name="{qid}"]')
        kind = inputs.first.get_attribute("type")
        if kind in ("radio", "checkbox"):
            for v in (value if isinstance(value, list) else [value]):
                page.locator(f'[name="{qid}"][value="{form_value(v)}"]').check()
                taps += 1
        else:
            inputs.first.fill(str(value))
            taps += 1
    return taps


def _complete_on_phone(page, base: str, answers: dict, shots: str | None = None) -> dict:
    """The core on a phone, screen by screen, then the knee-to-wall test and the plan;
    returns the taps the core took and the tallest screen."""
    page.goto(f"{base}/assessment?utm_source=instagram")
    page.get_by_role("button", name="Start the free assessment").click()
    page.wait_for_url("**/assessment/*/*")  # the first screen, not the intro mid-navigation
    taps, tallest, seen = 0, 0, 0
    while "/contact" not in page.url and "/self-tests" not in page.url:
        seen += 1
        assert seen < 60, page.url
        tallest = max(tallest, page.evaluate("document.documentElement.scrollHeight"))
        if shots and seen in (1, 6):  # a single-tap screen, and the safety list
            check_page(page, f"{shots}-screen-{seen}.png")
        before = page.url
        auto = page.locator("form[data-auto-advance]").count() > 0
        answered = _answer_screen(page, answers)
        taps += answered
        # Answered, a single-tap screen submits itself 180 ms later (static/assessment.js): asking
        # the page whether it is "advancing" could already be reading the next screen.
        if not (auto and answered):
            page.get_by_role("button", name="Next").click()
            taps += 1
        page.wait_for_url(lambda url, before=before: url != before)
        assert page.locator(".error").count() == 0, (page.url, page.locator(".error").all_inner_texts())
    if shots:
        check_page(page, f"{shots}-offer.png")
    core_taps = taps
    page.get_by_role("button", name="Do the self-tests").click()
    page.wait_for_url("**/knee_to_wall")
    tallest = max(tallest, page.evaluate("document.documentElement.scrollHeight"))
    if shots:
        check_page(page, f"{shots}-self-test.png")
    _answer_screen(page, answers)
    page.get_by_role("button", name="Save and show my plan").click()
    page.wait_for_url("**/contact")
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Email", exact=True).fill("dana@example.com")
    page.locator('[name="consent_health"]').check()
    if shots:
        check_page(page, f"{shots}-contact.png")
    page.get_by_role("button", name="Show my plan").click()
    return {"taps": core_taps, "tallest": tallest}


def _runner_email(stack: Stack):
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import OutboxMessage

    with stack.app.app_context():
        for _ in range(80):  # "within seconds"
            message = db.session.execute(
                select(OutboxMessage).where(OutboxMessage.kind == "assessment_plan")).scalar_one_or_none()
            if message is not None and message.status == "sent":
                return message.text_body
            db.session.rollback()
            time.sleep(0.25)
    raise AssertionError("the plan email was not sent")


def test_phone_journey_two_minutes_results_first_email_links_and_calendar(browser, live):
    import re

    from icalendar import Calendar

    base, stack = live
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    measured = _complete_on_phone(page, base, DESK_ACHILLES, shots="phone")
    assert measured["taps"] <= 35, measured
    assert measured["tallest"] <= 1700, measured  # no screen taller than two phone screens
    page.wait_for_url("**/results")
    # The first screen (844 px) shows the top priority and the call to action.
    summary = page.locator(".summary")
    assert "Ankle dorsiflexion" in summary.inner_text()
    cta = page.get_by_role("link", name=re.compile("book a free strategy session", re.I)).first
    assert cta.bounding_box()["y"] + cta.bounding_box()["height"] <= 844
    check_page(page, "results-phone.png")
    page.screenshot(path=str(ARTIFACTS / "results-phone-first-screen.png"))

    # The plan email arrives with working links: results, the prefilled session, the calendar.
    body = _runner_email(stack)
    links = dict(results=re.search(r"https?://\S+/assessment/\S+/results", body).group(0),
                 strategy=re.search(r"https?://\S+/strategy-session\?from_assessment=\S+", body).group(0),
                 calendar=re.search(r"https?://\S+/plan\.ics", body).group(0))
    assert page.request.get(links["results"]).ok
    ics = page.request.get(links["calendar"])
    assert ics.ok and ics.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(ics.body()).walk("VEVENT")
    assert events and all(str(e["RRULE"].get("FREQ")[0]) == "WEEKLY" for e in events)

    # The strategy session from the email: only what is new, prefilled, then who calls and when.
    page.goto(links["strategy"])
    assert "Booking as" in page.locator(".notice").inner_text()
    assert page.locator("#time_zone").input_value() == "America/Denver"  # detected in the browser
    check_page(page, "strategy-phone.png")
    page.get_by_label("What would you like help with?").fill("Run the Austin Marathon pain-free.")
    page.locator('[name="services"][value="mobility_coaching"]').check()
    page.locator('[name="delivery"][value="online"]').check()
    page.locator('[name="preferred_contact"][value="email"]').check()
    page.locator('[name="consent"]').check()
    page.get_by_role("button", name="Request my free session").click()
    page.wait_for_url("**/strategy-session/thanks/**")
    assert page.get_by_role("heading", name="What happens next").is_visible()
    assert "MST" in page.content() or "MDT" in page.content()  # the prospect's own time zone
    check_page(page, "strategy-thanks-phone.png")
    context.close()


def test_laptop_screens_look_finished(browser, live):
    base, _ = live
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/assessment")
    check_page(page, "intro-laptop.png")
    _complete_on_phone(page, base, DESK_ACHILLES, shots="laptop")
    page.wait_for_url("**/results")
    check_page(page, "results-laptop.png")
    # The other prospect pages: the standalone strategy form, unsubscribe, a 404.
    page.goto(f"{base}/strategy-session")
    check_page(page, "strategy-laptop.png")
    page.goto(f"{base}/unsubscribe/{_unsubscribe_token(live[1])}")
    assert page.get_by_role("button").count() >= 1
    check_page(page, "unsubscribe-laptop.png")
    page.goto(f"{base}/no-such-page")
    check_page(page, "not-found-laptop.png")
    context.close()


def _unsubscribe_token(stack: Stack) -> str:
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import Lead
    from coachapp.public.unsubscribe import unsubscribe_token

    with stack.app.app_context(), stack.app.test_request_context():
        lead_id = db.session.execute(select(Lead.id)).scalars().first()
        return unsubscribe_token(lead_id)


def test_assessment_works_without_javascript(browser, live):
    base, _ = live
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(f"{base}/assessment")
    page.get_by_role("button", name="Start the free assessment").click()
    page.wait_for_url("**/age_band")
    with page.expect_navigation():
        page.get_by_role("button", name="Next").click()  # nothing answered
    assert page.locator(".error").count() >= 1
    page.locator('[name="age_band"][value="30-39"]').check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/sex")
    page.get_by_role("button", name="Back").click()
    page.wait_for_url("**/age_band")
    assert page.locator('[name="age_band"][value="30-39"]').is_checked()
    # The whole journey, every screen a plain form.
    while "/self-tests" not in page.url:
        before = page.url
        _answer_screen(page, DESK_ACHILLES)
        page.get_by_role("button", name="Next").click()
        page.wait_for_url(lambda url, before=before: url != before)
        assert page.locator(".error").count() == 0, page.url
    page.get_by_role("button", name="Do the self-tests").click()
    page.wait_for_url("**/knee_to_wall")
    _answer_screen(page, DESK_ACHILLES)
    page.get_by_role("button", name="Save and show my plan").click()
    page.wait_for_url("**/contact")
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Email", exact=True).fill("nojs@example.com")
    page.locator('[name="consent_health"]').check()
    page.get_by_role("button", name="Show my plan").click()
    page.wait_for_url("**/results")
    assert "Ankle dorsiflexion" in page.locator(".summary").inner_text()
    context.close()
