"""Fault tests: real processes, real faults, counted.

Each test owns what it breaks: its own redis-server, its own PostgreSQL cluster (``initdb`` +
``pg_ctl`` on another port), its own SMTP server (``smtp_sink``) and real Celery worker
processes. The shared PostgreSQL and Redis are never touched. Clocks are short (a 10 s lease)
so the whole suite runs in a few minutes; every wait polls against a deadline.

With ``CI=true`` a missing ``redis-server`` or PostgreSQL binary fails the tests instead of
skipping them.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import clean_tables, dispose
from tests.faults.procs import PostgresCluster, RedisServer, Worker
from tests.faults.smtp_sink import Sink

#: The outbox's clocks for these tests (seconds): a dead worker's row is retaken after 10 s; a
#: send is cut off after 1.5 s (1 s per read); recording "sent" is retried for up to 6 s.
CLOCKS = {
    "OUTBOX_CLAIM_LEASE": "10",
    "SMTP_TIMEOUT": "1",
    "OUTBOX_SEND_DEADLINE": "1.5",
    "OUTBOX_RECORD_DEADLINE": "6",
    "OUTBOX_REPUBLISH_AFTER": "3",
    "OUTBOX_PUBLISH_TIMEOUT": "0.3",
    "OUTBOX_PUBLISH_PAUSE": "2",
}


@dataclass
class Stack:
    """An in-process app (the web side) and worker processes sharing one environment."""

    env: dict[str, str]
    app: object
    sink: Sink
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, name: str = "w") -> Worker:
        worker = Worker(self.env, name)
        self.workers.append(worker)
        return worker.wait_ready(90)

    def logs(self) -> str:
        return "\n".join(w.tail(30) for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def sweep(self) -> None:
        """What beat does every minute (here every call); a database outage is survived."""
        from coachapp.emails import outbox
        from coachapp.extensions import db

        with self.app.app_context():
            try:
                outbox.sweep()
            except Exception as exc:  # the database is restarting: next time
                logging.getLogger(__name__).info("sweep failed: %s", type(exc).__name__)
                db.session.rollback()
            finally:
                db.session.remove()

    def rows(self) -> list:
        from coachapp.extensions import db
        from coachapp.models import OutboxMessage

        with self.app.app_context():
            try:
                rows = list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
                for row in rows:
                    db.session.expunge(row)
                return rows
            finally:
                db.session.remove()

    def drive(self, done, timeout: float, every: float = 0.5) -> bool:
        """Sweep (as beat would) until ``done()`` or the deadline; True when done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if done():
                    return True
            except Exception:  # noqa: S110 (the database may be down for a moment)
                pass
            self.sweep()
            time.sleep(every)
        return done()


def make_app(env: dict[str, str], **overrides):
    from coachapp import create_app
    from coachapp.config import from_env

    config = from_env(env, Path(env["COACHAPP_INSTANCE"]))
    config.update({"TESTING": True, "RATELIMIT_ENABLED": False, "FORM_MIN_SECONDS": 0, **overrides})
    return create_app(config)


def report(title: str, **counts: object) -> None:
    """What the test injected and what it counted, in the test output (``-s`` or on failure)."""
    print(f"\n[faults] {title}")
    for key, value in counts.items():
        print(f"[faults]   {key.replace('_', ' ')}: {value}")


def tally(stack: Stack) -> dict[str, object]:
    """Outbox rows against what the SMTP server accepted, per Message-ID."""
    rows = stack.rows()
    delivered = stack.sink.deliveries
    return {
        "rows": len(rows),
        "statuses": dict(sorted({s: sum(r.status == s for r in rows) for s in {r.status for r in rows}}.items())),
        "delivered": sum(delivered.values()),
        # Not delivered and not deliberately failed (a 5xx): stuck, or marked sent but never accepted.
        "lost": sum(1 for r in rows if delivered[r.message_id] == 0 and r.status != "failed"),
        "duplicates": sum(n - 1 for n in delivered.values() if n > 1),
        "unknown_deliveries": sum(1 for mid in delivered if mid not in {r.message_id for r in rows}),
    }


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().init()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def fault_database(postgres) -> str:
    """One migrated database on the cluster for the session; tables are emptied per test."""
    from tests.conftest import migrate_up

    url = postgres.create_database()
    instance = Path(tempfile.mkdtemp(prefix="coachapp-faults-instance-"))
    app = make_app({"DATABASE_URL": url, "COACHAPP_INSTANCE": str(instance), "SECRET_KEY": "faults" * 8})
    migrate_up(app)
    dispose(app)
    return url


@pytest.fixture(scope="session")
def sink() -> Iterator[Sink]:
    server = Sink()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_sink(sink) -> Sink:
    sink.reset()
    return sink


def stack_env(database_url: str, redis_url: str, sink: Sink, tmp: Path) -> dict[str, str]:
    env = {**os.environ, **CLOCKS}
    for name in ("SMTP_URL", "REDIS_URL", "DATABASE_URL"):
        env.pop(name, None)
    instance = tmp / f"instance-{uuid.uuid4().hex[:6]}"
    instance.mkdir(parents=True)
    env.update({
        "COACHAPP_INSTANCE": str(instance),
        "SECRET_KEY": "fault-tests-secret-key-0123456789abcdef",
        "BASE_URL": "http://coach.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": sink.url,
        "CELERY_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
        "RATELIMIT_ENABLED": "false",
    })
    return env


def build_stack(database_url: str, redis_url: str, sink: Sink, tmp: Path) -> Stack:
    env = stack_env(database_url, redis_url, sink, tmp)
    app = make_app(env)
    clean_tables(app)
    return Stack(env=env, app=app, sink=sink)


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def steady(fault_database, shared_redis, sink, tmp_path_factory) -> Iterator[Stack]:
    """A stack whose one worker lives for the whole session (tests that break neither it nor Redis)."""
    stack = build_stack(fault_database, shared_redis.url, sink, tmp_path_factory.mktemp("steady"))
    try:
        yield stack
    finally:
        stack.stop()
        dispose(stack.app)


@pytest.fixture
def steady_stack(steady, fresh_sink) -> Stack:
    clean_tables(steady.app)
    if not steady.workers:
        steady.start_worker("steady")
    return steady


def queue_batch(stack: Stack, count: int, prefix: str = "batch", leads: bool = False) -> list[int]:
    """``count`` outbox rows (one purpose each), committed and published like any request would."""
    from coachapp.emails import outbox
    from coachapp.extensions import db
    from coachapp.models import Lead

    with stack.app.app_context():
        ids = []
        for n in range(count):
            address = f"{prefix}{n}@example.com"
            lead_id = None
            if leads:
                lead = Lead(email=address, email_display=address, first_name=f"R{n}")
                db.session.add(lead)
                db.session.flush()
                lead_id = lead.id
            message = outbox.queue_email(
                purpose_key=f"{prefix}:{n}", kind="test", to=address, template="assessment_clinician",
                lead_id=lead_id, first_name=f"R{n}", result={"safety": {"fired": []}},
                results_url="http://coach.test/r", business_name="Motive", business_address="Austin")
            ids.append(message.id)
        outbox.commit()
        db.session.remove()
        return ids
