"""Redis stopped, and Redis frozen (SIGSTOP: it accepts connections and never answers), while
people submit assessments through the API and the forms. Every request must still succeed,
quickly; every email must arrive once (the sweep publishes what could not be published)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from flask import url_for

from tests.conftest import Browserish, dispose
from tests.faults.conftest import Stack, build_stack, make_app, report, tally
from tests.faults.procs import RedisServer
from tests.helpers import DESK_ACHILLES

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def redis_stack(fault_database, sink, tmp_path_factory) -> Iterator[tuple[Stack, RedisServer]]:
    """This module's own redis-server (stopped and frozen here) and one worker using it."""
    redis = RedisServer().start()
    stack = build_stack(fault_database, redis.url, sink, tmp_path_factory.mktemp("redis"))
    try:
        yield stack, redis
    finally:
        stack.stop()
        dispose(stack.app)
        redis.stop()


@pytest.fixture
def stack(redis_stack, fresh_sink) -> tuple[Stack, RedisServer]:
    from tests.conftest import clean_tables

    stack, redis = redis_stack
    if not redis.ping():
        redis.start()
    clean_tables(stack.app)
    if not stack.workers:
        stack.start_worker("redis")
    return stack, redis


class Submitter:
    """Completed assessments through the JSON API, one client address each (no rate limit hit)."""

    def __init__(self, app, prefix: str) -> None:
        self.client = app.test_client()
        self.prefix = prefix
        self.codes: list[int] = []
        self.seconds: list[float] = []

    def submit(self) -> float:
        n = len(self.codes)
        contact = {"first_name": f"R{n}", "email": f"{self.prefix}{n}@example.com",
                   "consent_health": True, "consent_marketing": False}
        started = time.monotonic()
        response = self.client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": contact},
                                    environ_base={"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250 + 1}"})
        took = time.monotonic() - started
        self.codes.append(response.status_code)
        self.seconds.append(took)
        return took


def _all_delivered(stack: Stack) -> bool:
    rows = stack.rows()
    return bool(rows) and all(r.status == "sent" for r in rows) and stack.sink.total() >= len(rows)


def test_redis_stopped_during_submissions(stack):
    stack, redis = stack
    web = Submitter(stack.app, "stopped")
    for _ in range(8):
        web.submit()
    redis.stop()  # no persistence: whatever was still queued in it is gone too
    during = [web.submit() for _ in range(8)]
    redis.start()  # same port, empty
    for _ in range(8):
        web.submit()
    done = stack.drive(lambda: _all_delivered(stack), timeout=120)
    counts = tally(stack)
    report("Redis stopped", injected="redis-server stopped after 8 of 24 submissions, restarted empty after 16",
           submissions=len(web.codes), responses=sorted(set(web.codes)),
           slowest_request_while_down=f"{max(during):.2f} s", **counts)
    assert done, stack.logs()
    assert web.codes == [201] * 24
    assert max(during) < 3.0  # refused connections fail at once
    assert counts["rows"] >= 24
    assert counts["lost"] == counts["duplicates"] == counts["unknown_deliveries"] == 0


def test_redis_frozen_during_submissions(stack):
    """SIGSTOP: connections are accepted, nothing is answered. Before: 5 s per queued email plus
    5 s for the rate limiter on every request. Now: the limiter and the publisher give up after
    a fraction of a second; sign-in refuses (fails closed), the public forms go on (fail open)."""
    from coachapp.emails import outbox
    from coachapp.extensions import limiter

    stack, redis = stack
    limited = make_app(stack.env, RATELIMIT_ENABLED=True)  # limits counted in this test's Redis
    try:
        web = Submitter(limited, "frozen")
        for _ in range(6):
            web.submit()
        redis.freeze()
        during = [web.submit() for _ in range(10)]
        with limited.app_context():
            started = time.monotonic()
            published = outbox.publish([stack.rows()[0].id])
            publish_seconds = time.monotonic() - started
        browser = Browserish(limited.test_client())
        browser.get("/assessment")
        started = time.monotonic()
        start_form = browser.post("/assessment/start", environ_base={"REMOTE_ADDR": "10.8.0.1"})
        form_seconds = time.monotonic() - started
        with limited.test_request_context():
            login_url = url_for("auth.login")
        browser.get(login_url)
        started = time.monotonic()
        sign_in = browser.post(login_url, {"email": "sam@motive.example", "password": "wrong-password"},
                               environ_base={"REMOTE_ADDR": "10.8.0.2"})
        sign_in_seconds = time.monotonic() - started
        redis.thaw()
        for _ in range(6):
            web.submit()
    finally:
        redis.thaw()
        limiter.enabled = False  # one switch per process (tests/conftest.py rate_limited_app)
        dispose(limited)
    done = stack.drive(lambda: _all_delivered(stack), timeout=120)
    counts = tally(stack)
    report("Redis frozen (SIGSTOP)", injected="redis-server SIGSTOPped after 6 of 22 submissions, then SIGCONT",
           submissions=len(web.codes), responses=sorted(set(web.codes)),
           requests_while_frozen=f"median {statistics.median(during):.2f} s, slowest {max(during):.2f} s",
           one_publish_while_frozen=f"{publish_seconds:.2f} s (published: {published})",
           public_form_while_frozen=f"{start_form.status_code} in {form_seconds:.2f} s",
           sign_in_while_frozen=f"{sign_in.status_code} in {sign_in_seconds:.2f} s", **counts)
    assert done, stack.logs()
    assert web.codes == [201] * 22
    assert published == [] and publish_seconds < 1.0  # the publisher gives up well under a second
    assert max(during) < 3.0  # was 10-15 s; the limit leaves room for a busy machine
    assert start_form.status_code == 302  # the public form fails open
    assert sign_in.status_code == 503 and sign_in.headers["Retry-After"] == "60"  # sign-in fails closed
    assert counts["lost"] == counts["duplicates"] == counts["unknown_deliveries"] == 0
