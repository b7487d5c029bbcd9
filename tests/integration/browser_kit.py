"""What the browser tests share: Debian's Chromium, phone and laptop sizes, a live server on
the embedded default, and the checks every page gets (no sideways scroll, axe-core)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ON_CI, ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "timezone_id": "America/Denver"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "timezone_id": "America/Denver"}


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


def no_sideways_scroll(page) -> bool:
    """True when nothing is wider than the screen. On a phone, Chromium zooms out to fit wide
    content (innerWidth grows), so the layout width must also equal the viewport."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"
                         " && window.innerWidth === document.documentElement.clientWidth")


def axe(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def axe_report(results) -> str:
    """axe-core's violations, one per line with the offending nodes, for an assertion message."""
    lines = []
    for v in results.response["violations"]:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')!r}"
                         f"\n      {node.get('html', '')[:200]}")
    return "\n".join(lines)
