"""What the browser tests share: Debian's Chromium, phone and laptop sizes, a live server on
the embedded default, and the checks every page gets (no sideways scroll, axe-core)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from werkzeug.serving import make_server

from tests.conftest import ON_CI, ROOT

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "timezone_id": "America/Denver"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "timezone_id": "America/Denver"}
#: The owner the dashboard suites seed (with ``tests.helpers_dashboard.PASSWORD``) and sign in as
#: (the ``owner`` fixture in tests/integration/conftest.py).
OWNER_EMAIL = "brian.murray@motive-training.example"

VIEWPORTS = {390: PHONE, 1280: DESKTOP}


def launch_chromium() -> Iterator:
    """A module-scoped fixture body: Chromium, or skip (fail on CI) when it is missing."""
    if not Path(CHROMIUM).exists():
        if ON_CI:
            pytest.fail("Chromium is required on CI (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def embedded_env(tmp: Path, port: int, queue_prefix: str) -> dict[str, str]:
    """The embedded default (SQLite, filesystem broker, captured mail) in a folder of its own."""
    instance = tmp / "instance"
    instance.mkdir(exist_ok=True)
    env = {**os.environ, "COACHAPP_INSTANCE": str(instance), "SECRET_KEY": "browser-secret",
           "DATABASE_URL": f"sqlite:///{tmp / 'coachapp.sqlite'}",
           "CELERY_BROKER_DIR": str(tmp / "broker"), "CELERY_QUEUE": f"{queue_prefix}-{uuid.uuid4().hex[:8]}",
           "BASE_URL": f"http://127.0.0.1:{port}"}
    for name in ("REDIS_URL", "SMTP_URL"):
        env.pop(name, None)
    return env


@contextmanager
def serving(app, port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


def axe_report(results) -> str:
    """axe-core's violations, one per line with the offending nodes, for an assertion message."""
    lines = []
    for v in results.response["violations"]:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')!r}"
                         f"\n      {node.get('html', '')[:200]}")
    return "\n".join(lines)


#: The innermost elements whose box or content reaches past the right edge, outside any
#: scrolling container (to name the culprit when a page scrolls sideways).
STICKING_OUT = """(limit) => {
    const free = el => { for (let p = el.parentElement; p; p = p.parentElement)
        if (getComputedStyle(p).overflowX !== 'visible') return false; return true; };
    const wide = [...document.body.querySelectorAll('*')].filter(el => free(el)
        && el.getBoundingClientRect().left + Math.max(el.scrollWidth, el.getBoundingClientRect().width) > limit + 1);
    return wide.filter(el => !wide.some(other => other !== el && el.contains(other))).slice(0, 8)
        .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
            + [...el.classList].map(c => '.' + c).join(''));
}"""


#: Two animation frames (a frame painted since the call), or two seconds at most.
PAINTED = """() => Promise.race([new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))),
                                 new Promise(r => setTimeout(r, 2000))])"""


def _screenshot_with_frames(page, path: str) -> None:
    """A full-page screenshot with every iframe painted. Chromium does not paint a sandboxed
    (cross-origin) frame outside the viewport, and a full-page screenshot does not wait for it:
    so the viewport is made as tall as the page for the shot (and any fixed header sits at the
    top), then put back."""
    size = page.viewport_size
    height = page.evaluate("Math.ceil(document.documentElement.scrollHeight)")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    try:
        page.evaluate(PAINTED)  # (not in the frames: without allow-scripts no callback of theirs runs)
        page.screenshot(path=path, full_page=True, scale="css", animations="disabled")
    finally:
        page.set_viewport_size(size)


def check_page(page, shot: str, run_axe: bool = True, frames: bool = False) -> None:
    """Every page a person sees: a full-page screenshot in test-artifacts/ (taken first, so a
    failure can be looked at too; at CSS pixels, as a long page at 2x costs seconds), no
    sideways scroll, no axe-core violations. ``frames``: the page shows iframes below the fold
    (``_screenshot_with_frames``)."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(exist_ok=True)
    if frames:
        _screenshot_with_frames(page, str(ARTIFACTS / shot))
    else:  # animations disabled: a transition would otherwise be caught midway (there are none today)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True, scale="css", animations="disabled")
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    # On a phone (is_mobile) Chromium zooms out to fit wide content, which widens innerWidth
    # with it: so the page must also still be at the width it was opened at.
    viewport = page.viewport_size["width"]
    if not scroll <= inner == viewport:
        pytest.fail(f"{shot}: the page scrolls sideways ({scroll}px of content, {inner}px window, {viewport}px "
                    f"viewport); what sticks out: {page.evaluate(STICKING_OUT, viewport)}")
    if run_axe:
        results = Axe().run(page)
        assert results.violations_count == 0, f"{shot}: axe-core found\n{axe_report(results)}"


@contextmanager
def signed_in(browser, base: str, email: str, password: str) -> Iterator[dict[int, object]]:
    """A browser context per width (``VIEWPORTS``), signed in through the real sign-in form."""
    made = {}
    try:
        for width, options in VIEWPORTS.items():
            context = made[width] = browser.new_context(**options)
            context.set_default_timeout(10_000)  # a missing element fails fast
            page = context.new_page()
            sign_in_page(page, base, email, password)
            page.close()
        yield made
    finally:
        for context in made.values():
            context.close()


def open_page(contexts: dict[int, object], base: str, width: int, path: str):
    """A new page of that width's context at ``path``, which must answer 200."""
    page = contexts[width].new_page()
    response = page.goto(base + path)
    assert response.status == 200, f"{path}: {response.status}"
    return page


@contextmanager
def live_site(tmp: Path, prefix: str, seed: Callable[[], T]) -> Iterator[tuple[str, object, T]]:
    """(base URL, app, what ``seed`` returned): the embedded default in ``tmp``, migrated and
    emptied, ``seed`` run in an app context, served on a free port; afterwards the rules cache is
    forgotten (a published version must not outlive its database) and the app disposed."""
    from tests.conftest import clean_tables, dispose, free_port, migrate_up
    from tests.integration.conftest import app_for

    port = free_port()
    app = app_for(embedded_env(tmp, port, prefix))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        seeded = seed()
    try:
        with serving(app, port) as base:
            yield base, app, seeded
    finally:
        with app.app_context():
            from coachapp import rules_store

            rules_store.forget()
        dispose(app)


def open_from_nav(page, width: int, link: str) -> None:
    """Follow the dashboard nav's link (behind the Menu on a phone)."""
    nav = page.get_by_role("navigation", name="Dashboard")
    if width < 720:
        nav.locator("details.nav-menu summary").click()
    nav.get_by_role("link", name=link, exact=True).click()


def sign_in_page(page, base: str, email: str, password: str | None = None, lands: str = "**/dashboard/") -> None:
    """Sign in through the real form (the test password by default) and wait for the dashboard."""
    from tests.helpers_dashboard import PASSWORD

    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lands)


@contextmanager
def fresh_page(browser, width: int) -> Iterator[object]:
    """A page in a new context of that width (``VIEWPORTS``: no cookies, nobody signed in), with
    a 10 s default timeout so a missing element fails fast; the context closes afterwards."""
    context = browser.new_context(**VIEWPORTS[width])
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
