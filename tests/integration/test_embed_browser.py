"""The assessment embedded on the coach's site, in Chromium at 390 px and 1280 px (issue 13 point 4).

Two origins on loopback: the app on ``http://127.0.0.1:<port>`` and the coach's "site" — a page
with the copy-paste snippet, served by a tiny ``http.server`` — on ``http://127.0.0.1:<other
port>``, the one entry of ``EMBED_ORIGINS``. Different ports are different *origins* (so the CSP
``frame-ancestors`` list and the ``postMessage`` origin checks are exercised for real) but the
same *site* (ports do not count), so the session cookie — ``SameSite=Lax`` here, since
``SameSite=None`` requires ``Secure`` and so https — still reaches the frame. Over https with a
real second domain the cookie is ``SameSite=None; Secure`` (tests/web/test_embedding.py checks the
header). A third origin, not allowed, shows the frame is refused there.

Checked: the iframe appears (title, lazy), its height follows the content (set from the embedded
page's message, and changes between screens), the first screens of the assessment are answered
inside it (the flag kept), the host page and its UTM become the submission's first touch; no
sideways scroll and no axe-core violations on the embedded pages and the owner's settings page;
screenshots in test-artifacts/.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers import DESK_ACHILLES, form_value
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import (
    ARTIFACTS,
    DESKTOP,
    VIEWPORTS,
    check_page,
    embedded_env,
    fresh_page,
    serving,
    sign_in_page,
)
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

OWNER_EMAIL = "brian@motive-training.example"
HOST_PATH = "/running/free-assessment?utm_source=instagram&utm_campaign=spring"


@dataclass
class Sites:
    app_base: str
    host_base: str  # allowed in EMBED_ORIGINS
    stranger_base: str  # not allowed
    app: object


def _host_page(app_base: str) -> bytes:
    """The coach's page: their own content around the snippet from the settings page."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Free assessment · Coach's own site</title>
<style>body {{ margin: 0; font-family: sans-serif; }} header, footer {{ padding: 16px; background: #223; color: #fff; }}
main {{ max-width: 760px; margin: 0 auto; padding: 8px; }}</style></head>
<body><header>Coach's own site</header>
<main><h1>Take the free Runner Assessment</h1>
<div data-coachapp-embed="assessment"></div>
<script src="{app_base}/static/embed.js" async></script>
</main><footer>© the coach</footer></body></html>""".encode()


class _HostHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:  # quiet
        pass


def _host_server(port: int, body: bytes) -> ThreadingHTTPServer:
    handler = type("Handler", (_HostHandler,), {"body": body})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("embed-pages")
    port, host_port, stranger_port = free_port(), free_port(), free_port()
    env = embedded_env(tmp, port, "e")
    env["EMBED_ORIGINS"] = f"http://127.0.0.1:{host_port}"
    app = app_for(env)
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        from coachapp.extensions import db

        coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True)
    app_base = f"http://127.0.0.1:{port}"
    servers = [_host_server(p, _host_page(app_base)) for p in (host_port, stranger_port)]
    try:
        with serving(app, port):
            yield Sites(app_base, f"http://127.0.0.1:{host_port}", f"http://127.0.0.1:{stranger_port}", app)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        dispose(app)


def _answer(frame, answers: dict) -> int:
    """Answer this screen's questions like a person tapping (inside the frame); returns how many."""
    answered = 0
    names = frame.eval_on_selector_all("form[data-assessment] [name]", "els => [...new Set(els.map(e => e.name))]")
    for qid in names:
        if qid not in answers:
            continue
        value, inputs = answers[qid], frame.locator(f'[name="{qid}"]')
        if inputs.first.get_attribute("type") in ("radio", "checkbox"):
            for v in (value if isinstance(value, list) else [value]):
                frame.locator(f'[name="{qid}"][value="{form_value(v)}"]').check()
        else:
            inputs.first.fill(str(value))
        answered += 1
    return answered


FRAME_HEIGHT = "parseFloat(document.querySelector('iframe[data-coachapp]').style.height)"


def _fits(page, frame, timeout: float = 5.0) -> None:
    """The iframe is as tall as its content: no scrollbar inside, no empty band below. The height
    comes by message (a task after the content changed, and then the frame lays out again), so
    this asks until it holds or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        outer = page.evaluate("document.querySelector('iframe[data-coachapp]').getBoundingClientRect().height")
        inner = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        no_scrollbar = frame.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
        if (abs(outer - inner) <= 2 and no_scrollbar) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(50)
    assert abs(outer - inner) <= 2, f"the frame is {outer}px for {inner}px of content"
    assert no_scrollbar, "the frame scrolls inside"


#: Posts a height message from the host page itself and resolves once the page has handled it
#: (embed.js's listener came first, so it has run by then).
FOREIGN_MESSAGE = """() => new Promise(done => {
    const seen = event => {
        if (event.source !== window || !event.data || event.data.height !== 4321) return;
        window.removeEventListener('message', seen);
        setTimeout(done, 0);
    };
    window.addEventListener('message', seen);
    window.postMessage({type: 'coachapp:height', height: 4321}, '*');
})"""


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_assessment_inside_the_coachs_page(browser, sites, width):
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import AssessmentSubmission

    with fresh_page(browser, width) as page:
        page.goto(sites.host_base + HOST_PATH)
        iframe = page.locator("iframe[data-coachapp]")
        iframe.wait_for()
        assert iframe.get_attribute("title") == "Free Runner Assessment"
        assert iframe.get_attribute("loading") == "lazy"
        src = iframe.get_attribute("src")
        assert src.startswith(f"{sites.app_base}/assessment?embed=1&host=") and "utm_source=instagram" in src
        frame = iframe.element_handle().content_frame()
        frame.get_by_role("heading", name="What does your body actually need?").wait_for()
        frame.wait_for_load_state()  # its last resize comes by the load event at the latest
        # Its height comes from the embedded page's message (the script starts at 640 px).
        page.wait_for_function(f"{FRAME_HEIGHT} !== 640")
        _fits(page, frame)
        intro_height = page.evaluate(FRAME_HEIGHT)
        # A message from anyone but the app (here: the host page itself) is not believed.
        page.evaluate(FOREIGN_MESSAGE)
        assert page.evaluate(FRAME_HEIGHT) == intro_height
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"embed-host-intro-{width}.png"), full_page=True, scale="css")

        frame.get_by_role("button", name="Start the free assessment").click()
        frame.wait_for_url("**/assessment/*/*embed=1*")
        heights = {intro_height}
        for screen in range(3):  # the first screens, answered inside the frame
            before = frame.url
            frame.locator("form[data-assessment]").wait_for()
            _fits(page, frame)  # once this screen's resize message has landed
            heights.add(page.evaluate(FRAME_HEIGHT))
            if screen == 0:
                page.screenshot(path=str(ARTIFACTS / f"embed-host-question-{width}.png"), full_page=True, scale="css")
            auto = frame.locator("form[data-auto-advance]").count() > 0
            # Answered, a single-tap screen submits itself 180 ms later (static/assessment.js).
            if not (_answer(frame, DESK_ACHILLES) and auto):
                frame.get_by_role("button", name="Next").click()
            frame.wait_for_url(lambda url, before=before: url != before)
            assert "embed=1" in frame.url and frame.locator(".error").count() == 0, frame.url
        assert len(heights) > 1, f"the frame kept one height through different screens: {heights}"
        assert frame.locator(".site-header").count() == 0

        token = frame.url.split("/assessment/", 1)[1].split("/", 1)[0]
        with sites.app.app_context():
            submission = db.session.execute(
                select(AssessmentSubmission).where(AssessmentSubmission.token == token)).scalar_one()
            touch = submission.first_touch
            assert touch["landing_page"] == sites.host_base + HOST_PATH
            assert (touch["utm_source"], touch["utm_campaign"]) == ("instagram", "spring")
            assert len(submission.answers) >= 3


def test_a_site_not_in_embed_origins_gets_no_frame(browser, sites):
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    try:
        page.goto(sites.stranger_base + HOST_PATH)
        page.locator("iframe[data-coachapp]").wait_for()
        # Chromium refuses the page (frame-ancestors) and shows its error page in the frame: wait for
        # that, polled from the page's frame list (a frame handle can be swapped out as it changes)
        deadline = time.monotonic() + 10
        while not any(f.url.startswith("chrome-error://") for f in page.frames):
            assert time.monotonic() < deadline, [f.url for f in page.frames]
            page.wait_for_timeout(50)
        frame = page.frame_locator("iframe[data-coachapp]")
        assert frame.get_by_role("heading", name="What does your body actually need?").count() == 0
        assert page.evaluate(FRAME_HEIGHT) == 640  # no page inside, so nobody resized it
    finally:
        context.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_embedded_pages_and_the_settings_page_are_clean(browser, sites, width):
    with fresh_page(browser, width) as page:
        page.goto(f"{sites.app_base}/assessment?embed=1")
        check_page(page, f"embed-intro-{width}.png")
        page.get_by_role("button", name="Start the free assessment").click()
        page.wait_for_url("**/assessment/*/*embed=1*")  # the first screen ("**embed=1*" is the intro too)
        check_page(page, f"embed-question-{width}.png")
        link = page.get_by_role("link", name="Open in a new tab")
        assert link.get_attribute("target") == "_blank" and "embed" not in link.get_attribute("href")

        sign_in_page(page, sites.app_base, OWNER_EMAIL)
        response = page.goto(f"{sites.app_base}/dashboard/settings/embed")
        assert response.status == 200
        assert sites.host_base in page.locator("main").inner_text()
        assert f"{sites.app_base}/static/embed.js" in page.locator("main").inner_text()
        check_page(page, f"embed-settings-{width}.png")
