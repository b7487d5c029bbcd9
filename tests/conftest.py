"""Fixtures: an app per database backend (schema built by the migrations), a
client that handles CSRF like a browser, and a real SMTP server on loopback.

Backends: SQLite always; PostgreSQL when reachable (``TEST_POSTGRES_URL``,
default the local server). With ``CI=true`` PostgreSQL and Redis must be up:
their tests fail instead of skipping.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Keep the app's instance folder (secret key, SQLite, broker files) out of the repo.
_INSTANCE = Path(tempfile.mkdtemp(prefix="coachapp-test-instance-"))
os.environ["COACHAPP_INSTANCE"] = str(_INSTANCE)
for _name in ("DATABASE_URL", "REDIS_URL", "SMTP_URL"):
    os.environ.pop(_name, None)


def service_up(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def require(url: str, what: str) -> None:
    if service_up(url):
        return
    if ON_CI:
        pytest.fail(f"{what} is not reachable at {url}, and CI requires it")
    pytest.skip(f"{what} not reachable at {url}")


class PostgresDatabase:
    """A throwaway database on the local server, dropped at the end."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"coachapp_test_{uuid.uuid4().hex[:10]}"
        parts = urlsplit(base_url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))

    def create(self) -> str:
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self.url

    def drop(self) -> None:
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A fresh, empty database per backend for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "coachapp.sqlite"
        yield f"sqlite:///{path}"
        return
    require(POSTGRES_URL, "PostgreSQL")
    database = PostgresDatabase(POSTGRES_URL)
    yield database.create()
    database.drop()


def make_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    from coachapp.config import celery_settings
    from coachapp.config import database_url as normalise

    broker_dir = Path(tempfile.mkdtemp(prefix="coachapp-test-broker-"))
    celery = celery_settings({"CELERY_BROKER_DIR": str(broker_dir),
                              "CELERY_QUEUE": f"test-{uuid.uuid4().hex[:8]}"}, _INSTANCE)
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": normalise(database_url, _INSTANCE),
        "SMTP_URL": None,
        "BASE_URL": "http://coach.test",
        "RATELIMIT_ENABLED": False,  # tests/web/test_rate_limits.py turns it on
        "CELERY": celery,
    }
    config.update(overrides)
    return config


def migrate_up(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def dispose(app) -> None:
    """Close pooled connections (before a test database is dropped)."""
    from coachapp.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def app(database_url):
    from coachapp import create_app

    application = create_app(make_config(database_url))
    migrate_up(application)
    yield application
    dispose(application)


def clean_tables(app) -> None:
    from coachapp import rules_store
    from coachapp.extensions import db

    with app.app_context():
        rules_store.forget()  # a version published by an earlier test is gone with the tables
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db_app(app) -> Iterator[Any]:
    """The session app with empty tables and an app context pushed."""
    clean_tables(app)
    with app.app_context():
        yield app
        from coachapp.extensions import db

        db.session.remove()


@pytest.fixture
def rate_limited_app(app, database_url):
    """An app with rate limits on (same database). Flask-Limiter keeps its on/off switch and
    storage on the one extension object, so it is switched back off afterwards for the
    other apps in this test process (production runs one app per process)."""
    from coachapp import create_app
    from coachapp.extensions import limiter

    limited = create_app(make_config(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://"))
    try:
        yield limited
    finally:
        limiter.reset()
        limiter.enabled = False
        dispose(limited)


CSRF_RE = re.compile(r'<input(?=[^>]*name="csrf_token")[^>]*value="([^"]+)"')


class Browserish:
    """The Flask test client, plus CSRF tokens taken from the page like a browser."""

    def __init__(self, client) -> None:
        self.client = client
        self.last_token: str | None = None

    @staticmethod
    def _fresh_request() -> None:
        """Requests reuse the test's pushed app context, and so its ``g``, where Flask-WTF
        caches the CSRF token and Flask-Login the user: empty it, as a new request would."""
        from flask import g, has_app_context

        if has_app_context():
            for name in list(vars(g)):
                delattr(g, name)

    def get(self, url: str, **kwargs):
        self._fresh_request()
        response = self.client.get(url, **kwargs)
        match = CSRF_RE.search(response.get_data(as_text=True))
        if match:
            self.last_token = match.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs):
        if self.last_token is None:
            self.get(url)
        payload = {"csrf_token": self.last_token, **(data or {})}
        self._fresh_request()
        response = self.client.post(url, data=payload, **kwargs)
        match = CSRF_RE.search(response.get_data(as_text=True))
        if match:
            self.last_token = match.group(1)
        return response


@pytest.fixture
def web(db_app) -> Browserish:
    return Browserish(db_app.test_client())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

    ``fail_next`` makes the next N transactions answer with the given SMTP reply
    (e.g. "451 4.3.0 Try again later" or "550 5.1.1 No such user"). ``on_mail(n)`` runs before
    the n-th ``MAIL FROM`` (the n-th transaction, on any connection) is answered.
    """

    def __init__(self) -> None:
        import threading

        self.messages: list[Any] = []
        self.failures: list[str] = []
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.connections = 0
        self.connected = threading.Condition()
        self.transactions = 0
        self.on_mail: Any = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd API)
        session.host_name = hostname
        with self.connected:
            self.connections += 1
            self.connected.notify_all()
        return responses

    def wait_for_connections(self, count: int, timeout: float = 30.0) -> bool:
        with self.connected:
            return self.connected.wait_for(lambda: self.connections >= count, timeout)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 (aiosmtpd API)
        self.transactions += 1
        if self.on_mail is not None:
            self.on_mail(self.transactions)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def fail_next(self, reply: str, times: int = 1) -> None:
        self.failures.extend([reply] * times)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        if self.failures:
            return self.failures.pop(0)
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.original_content, policy=default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Any]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return list(self.messages)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
