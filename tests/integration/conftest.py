"""A whole stack per test: database + broker + a real Celery worker process +
a real SMTP server on loopback.

``embedded``: SQLite + the filesystem broker (the README's default).
``services``: PostgreSQL + Redis (what production runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import (
    POSTGRES_URL,
    REDIS_URL,
    ROOT,
    Mailbox,
    PostgresDatabase,
    clean_tables,
    dispose,
    migrate_up,
    require,
)


@dataclass
class Stack:
    name: str
    env: dict[str, str]
    app: object
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: list[list[str]] = field(default_factory=list)
    pumps: list[threading.Thread] = field(default_factory=list)

    def start_worker(self, timeout: float = 60.0, extra_env: dict[str, str] | None = None) -> int:
        """Start a real worker process; returns its index once it is ready."""
        cmd = [sys.executable, "-m", "celery", "-A", "wsgi.celery_app", "worker",
               "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
               "--without-heartbeat", "-n", f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**self.env, **(extra_env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            for line in proc.stdout:
                lines.append(line)
                if " ready." in line:
                    ready.set()

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        self.workers.append(proc)
        self.logs.append(lines)
        self.pumps.append(thread)
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + "".join(lines[-40:]))
        return len(self.workers) - 1

    def kill_worker(self, index: int) -> None:
        self.workers[index].kill()
        self.workers[index].wait(10)

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc, thread in zip(self.workers, self.pumps, strict=True):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            thread.join(5)  # the pump ends at EOF
            proc.stdout.close()


@pytest.fixture(params=["embedded", "services"])
def stack_env(request, tmp_path) -> Iterator[tuple[str, dict[str, str]]]:
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {
        **os.environ,
        "COACHAPP_INSTANCE": str(instance),
        "SECRET_KEY": "integration-secret",
        "BASE_URL": "http://coach.test",
        "CELERY_QUEUE": f"it-{uuid.uuid4().hex[:8]}",
    }
    database = None
    if request.param == "embedded":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'coachapp.sqlite'}"
        env["CELERY_BROKER_DIR"] = str(tmp_path / "broker")
        env.pop("REDIS_URL", None)
    else:
        require(POSTGRES_URL, "PostgreSQL")
        require(REDIS_URL, "Redis")
        database = PostgresDatabase(POSTGRES_URL)
        env["DATABASE_URL"] = database.create()
        env["REDIS_URL"] = REDIS_URL
    try:
        yield request.param, env
    finally:
        if database is not None:
            database.drop()


@pytest.fixture
def smtp(stack_env) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    stack_env[1]["SMTP_URL"] = mailbox.url
    try:
        yield mailbox
    finally:
        controller.stop()


def app_for(env: dict[str, str], **overrides):
    """An in-process app configured exactly like the worker (same env)."""
    from coachapp import create_app
    from coachapp.config import from_env

    config = from_env(env, Path(env["COACHAPP_INSTANCE"]))
    # Rate limits have their own tests; here they would count across runs in the shared Redis.
    # Playwright fills a form faster than any person: the time trap has its own tests.
    config.update({"TESTING": True, "RATELIMIT_ENABLED": False, "FORM_MIN_SECONDS": 0, **overrides})
    return create_app(config)


@pytest.fixture
def stack(stack_env, smtp) -> Iterator[Stack]:
    name, env = stack_env
    app = app_for(env)
    migrate_up(app)
    clean_tables(app)
    result = Stack(name=name, env=env, app=app)
    try:
        yield result
    finally:
        result.stop()
        dispose(app)


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()



@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium for one test module (skipped locally without it, a failure on CI)."""
    from tests.integration.browser_kit import launch_chromium

    yield from launch_chromium()


@pytest.fixture(scope="module")
def owner(browser, site):
    """A context per width (``VIEWPORTS``) signed in as ``browser_kit.OWNER_EMAIL`` on the module's
    ``site`` (any object with ``base``; its seed makes that owner with ``PASSWORD``). A module
    that signs in someone else defines its own ``owner``."""
    from tests.helpers_dashboard import PASSWORD
    from tests.integration.browser_kit import OWNER_EMAIL, signed_in

    with signed_in(browser, site.base, OWNER_EMAIL, PASSWORD) as contexts:
        yield contexts
