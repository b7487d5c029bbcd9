"""Sign-in throttle: failures slow an account from one address (1, 2, 4 … 60 s) instead of
locking the coach out; another address is never affected; the right password works once the
short wait is over. The per-address limit (tests/dashboard/test_auth.py) still applies."""

from __future__ import annotations

import re

import pytest

from coachapp.auth import throttle
from coachapp.extensions import db
from tests.conftest import REDIS_URL, Browserish, clean_tables, require
from tests.helpers_dashboard import PASSWORD, coach_with_password

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
COACH_AT_HOME = {"REMOTE_ADDR": "198.51.100.7"}


class Clock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(rate_limited_app, monkeypatch):
    """The rate-limited app with a coach, a movable clock and a client per address."""
    clock = Clock()
    monkeypatch.setattr(throttle, "now", clock)
    clean_tables(rate_limited_app)
    with rate_limited_app.app_context():
        coach_with_password(db)
        yield rate_limited_app, clock
        db.session.remove()
    clean_tables(rate_limited_app)


def _attempt(app, password: str, address: dict, email: str = "sam@motive.example"):
    web = Browserish(app.test_client())
    web.get("/auth/login", environ_base=address)
    return web.post("/auth/login", {"email": email, "password": password}, environ_base=address)


def _wait(response) -> int | None:
    """The seconds the page asks to wait. (Not ``Retry-After``: Flask-Limiter sets that header on
    this route to the later of ours and its own per-address window.)"""
    found = re.search(r"Please try again in (\d+) seconds?\.", response.get_data(as_text=True))
    return int(found.group(1)) if found else None


def test_the_wait_doubles_from_one_second_and_is_capped_at_a_minute():
    assert [throttle.delay_after(n) for n in range(0, 10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.delay_after(10_000) == throttle.MAX_DELAY


def test_after_a_failure_even_the_right_password_waits_a_moment_then_signs_in(limited):
    app, clock = limited
    assert _attempt(app, "wrong-password!", COACH_AT_HOME).status_code == 401
    waiting = _attempt(app, PASSWORD, COACH_AT_HOME)  # whatever the password, for one second
    assert waiting.status_code == 429 and _wait(waiting) == 1
    assert "Please try again in 1 second." in waiting.get_data(as_text=True)
    clock.now += 1.01
    assert _attempt(app, PASSWORD, COACH_AT_HOME).status_code == 302


def test_a_guesser_is_slowed_ever_more_and_the_coach_elsewhere_is_not(limited):
    app, clock = limited
    waits = []
    for _ in range(9):
        assert _attempt(app, "wrong-password!", ATTACKER).status_code == 401
        refused = _attempt(app, "another-guess!", ATTACKER)
        assert refused.status_code == 429
        waits.append(_wait(refused))
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert _attempt(app, "wrong-password!", ATTACKER).status_code == 401
    # The coach signs in from home straight away: no lockout for anyone who knows the email.
    assert _attempt(app, PASSWORD, COACH_AT_HOME).status_code == 302


def test_a_refused_attempt_does_not_make_the_wait_longer(limited):
    app, clock = limited
    _attempt(app, "wrong-password!", ATTACKER)
    clock.now += 0.5
    for _ in range(5):
        assert _attempt(app, "wrong-password!", ATTACKER).status_code == 429
    clock.now += 0.6  # one second after the failure, whatever was tried in between
    assert _attempt(app, PASSWORD, ATTACKER).status_code == 302


def test_signing_in_starts_the_count_afresh(limited):
    app, clock = limited
    for _ in range(4):
        assert _attempt(app, "wrong-password!", COACH_AT_HOME).status_code == 401
        clock.now += 60
    assert _attempt(app, PASSWORD, COACH_AT_HOME).status_code == 302
    assert _attempt(app, "wrong-password!", COACH_AT_HOME).status_code == 401
    assert _wait(_attempt(app, PASSWORD, COACH_AT_HOME)) == 1  # not 16


def test_an_unknown_email_is_slowed_exactly_like_a_real_one(limited):
    app, _ = limited
    real = [_attempt(app, "wrong-password!", ATTACKER).status_code,
            _attempt(app, "wrong-password!", ATTACKER)]
    unknown = [_attempt(app, "wrong-password!", ATTACKER, email="nobody@motive.example").status_code,
               _attempt(app, "wrong-password!", ATTACKER, email="nobody@motive.example")]
    assert real[0] == unknown[0] == 401
    assert real[1].status_code == unknown[1].status_code == 429
    assert _wait(real[1]) == _wait(unknown[1]) == 1


def test_the_store_keys_hold_no_email_address(db_app):
    key = throttle.key_for("sam@motive.example", "203.0.113.9")
    assert "sam" not in key and "203.0.113.9" not in key
    assert key != throttle.key_for("sam@motive.example", "203.0.113.10")
    assert key != throttle.key_for("kim@motive.example", "203.0.113.9")


def test_redis_store_is_shared_between_processes():
    require(REDIS_URL, "Redis")
    key = "coachapp:login-throttle:test-shared"
    one = throttle.Throttle(throttle.RedisStore(REDIS_URL), throttle.MemoryStore())
    other = throttle.Throttle(throttle.RedisStore(REDIS_URL), throttle.MemoryStore())
    one.succeeded(key)
    try:
        one.failed(key, 100.0)
        assert other.failed(key, 101.0).failures == 2  # counted once across both
        assert one.wait_seconds(key, 101.5) == 2
        assert other.wait_seconds(key, 103.0) == 0
        other.succeeded(key)
        assert one.wait_seconds(key, 101.5) == 0
    finally:
        one.succeeded(key)


def test_when_redis_is_down_this_process_keeps_counting():
    dead = throttle.Throttle(throttle.RedisStore("redis://127.0.0.1:9/0"), throttle.MemoryStore())
    dead.failed("k", 100.0)
    dead.failed("k", 102.0)
    assert dead.wait_seconds("k", 102.5) == 2
    dead.succeeded("k")
    assert dead.wait_seconds("k", 102.5) == 0
