"""Sign-in throttle: slows a password guesser without locking the coach out.

Each failed sign-in for an account *from one address* makes that pair wait before its next
attempt is even checked: 1, 2, 4, 8 … seconds, at most ``MAX_DELAY``. While it waits, an attempt
is refused ("try again in N seconds") whatever the password; once the wait is over, the right
password signs in and starts the count afresh. Another address is never affected, so someone
who knows a coach's email cannot lock the coach out; the per-address limit in ``views`` still
caps guessing across accounts. The key is an HMAC of the submitted email and the address, so an
unknown email is slowed exactly like a real one (no account discovery) and the store holds no
email addresses.

State lives where the rate limits live (Redis when ``RATELIMIT_STORAGE_URI`` is Redis, so every
web process sees it); when Redis fails, this process keeps counting in memory instead.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BASE_DELAY = 1.0  # seconds after the first failure
MAX_DELAY = 60.0
FORGET_AFTER = 3600  # seconds without a failure, then the count starts again
MEMORY_CAP = 10_000  # pairs kept in a process before expired ones are dropped
REDIS_TIMEOUT = 0.5  # seconds: a hung Redis must not hang the sign-in page


def delay_after(failures: int) -> float:
    """The wait after the n-th consecutive failure: 1, 2, 4 … capped at ``MAX_DELAY``."""
    if failures <= 0:
        return 0.0
    return min(BASE_DELAY * 2 ** min(failures - 1, 32), MAX_DELAY)


@dataclass(frozen=True)
class State:
    failures: int
    next_allowed: float  # epoch seconds


class Store(Protocol):
    def get(self, key: str) -> State | None: ...
    def failed(self, key: str, now: float) -> State: ...
    def clear(self, key: str) -> None: ...


class MemoryStore:
    """One process's counts (the embedded default, and the fallback when Redis fails)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, tuple[int, float, float]] = {}  # key → failures, next, expires

    def get(self, key: str) -> State | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[2] <= time.time():
                return None
            return State(entry[0], entry[1])

    def failed(self, key: str, now: float) -> State:
        with self._lock:
            entry = self._data.get(key)
            failures = (entry[0] if entry and entry[2] > time.time() else 0) + 1
            state = State(failures, now + delay_after(failures))
            self._data[key] = (failures, state.next_allowed, time.time() + FORGET_AFTER)
            if len(self._data) > MEMORY_CAP:
                expired = [k for k, v in self._data.items() if v[2] <= time.time()]
                for k in expired:
                    del self._data[k]
            return state

    def clear(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisStore:
    """Shared by every web process: a hash per pair, expiring ``FORGET_AFTER`` after its last failure."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT,
                                           socket_timeout=REDIS_TIMEOUT)

    def get(self, key: str) -> State | None:
        values = self._redis.hmget(key, "failures", "next")
        if values[0] is None:
            return None
        return State(int(values[0]), float(values[1] or 0))

    def failed(self, key: str, now: float) -> State:
        pipe = self._redis.pipeline()  # MULTI/EXEC: the count is atomic across processes
        pipe.hincrby(key, "failures", 1)
        pipe.expire(key, FORGET_AFTER)
        failures = int(pipe.execute()[0])
        state = State(failures, now + delay_after(failures))
        self._redis.hset(key, "next", repr(state.next_allowed))
        return state

    def clear(self, key: str) -> None:
        self._redis.delete(key)


class Throttle:
    def __init__(self, primary: Store, fallback: MemoryStore) -> None:
        self.primary, self.fallback = primary, fallback

    def _call(self, method: str, *args):
        if self.primary is not self.fallback:
            try:
                return getattr(self.primary, method)(*args)
            except RedisError as exc:  # Redis down or hung: count in this process instead
                logger.warning("sign-in throttle: shared store unavailable (%s); counting in memory",
                               type(exc).__name__)
        return getattr(self.fallback, method)(*args)

    def wait_seconds(self, key: str, now: float) -> int:
        """Whole seconds this pair must still wait (0: the attempt may be checked)."""
        state = self._call("get", key)
        if state is None or state.next_allowed <= now:
            return 0
        return max(1, math.ceil(state.next_allowed - now))

    def failed(self, key: str, now: float) -> State:
        return self._call("failed", key, now)

    def succeeded(self, key: str) -> None:
        self._call("clear", key)


def init_app(app: Flask) -> None:
    uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
    fallback = MemoryStore()
    primary: Store = RedisStore(uri) if uri.startswith(("redis://", "rediss://")) else fallback
    app.extensions["login_throttle"] = Throttle(primary, fallback)


def enabled() -> bool:
    """On with the rate limits (``RATELIMIT_ENABLED``), which the tests turn off by default."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def key_for(email: str, address: str | None) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"{email}\n{address or ''}".encode(), hashlib.sha256).hexdigest()
    return "coachapp:login-throttle:" + digest[:40]


def throttle() -> Throttle:
    if "login_throttle" not in current_app.extensions:
        init_app(current_app)
    return current_app.extensions["login_throttle"]


def now() -> float:
    """The clock (a function, so tests can move it)."""
    return time.time()
