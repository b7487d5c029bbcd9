"""CPU per submission in one process, and where it goes: ``python bench/profile_write.py``.

The whole-stack bench (``bench/run.py``) measures the CPU of gunicorn, the worker and PostgreSQL
under load; this one isolates the web side's own work, so a change to the write path can be
judged in a minute on a busy machine (CPU time, not wall time, is counted). It creates a scratch
database (PostgreSQL with ``--postgres URL``, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``;
SQLite otherwise), runs the real migrations, and drives with Flask's test client:

- ``POST /api/v1/assessments`` with answers, contact and consent (a new lead each time);
- ``POST /strategy-session`` (the standalone form, a new lead each time; CSRF and the time trap
  are off, as for the hostile suite);
- the bare baseline: ``bench/bare_app.py``'s ``POST /submit`` (validate + one INSERT) on the same
  database, in the same process.

Prints CPU ms per request (``time.process_time``: this process only — the database server's
CPU is not in it), the statements per request, and the ratio to the baseline. ``--profile``
adds the top functions by cumulative CPU time (cProfile with a CPU clock) for each path.
Publishing goes to the filesystem broker, or Redis with ``--redis URL`` (the task messages are
left there: use a spare database number and flush it); no email is sent (``bench/bench_worker.py`` measures
the worker's side).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="coachapp-profile-"))

import psycopg  # noqa: E402
from sqlalchemy import event  # noqa: E402

from tests.helpers import CONTACT, DESK_ACHILLES  # noqa: E402
from tests.helpers_strategy import STRATEGY_FORM, make_coach  # noqa: E402


def scratch_database(base: str | None) -> tuple[str, Callable[[], None]]:
    if base is None:
        path = Path(tempfile.mkdtemp(prefix="coachapp-profile-")) / "profile.sqlite"
        return f"sqlite:///{path}", lambda: None
    name = f"coachapp_profile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}")), drop


#: Requests profiled once more to count Python function calls: a deterministic figure that moves
#: with the work a request does, where CPU time on a shared 2-core machine swings by ±20 %.
CALL_SAMPLE = 50


def measure(name: str, send: Callable[[int], None], requests: int, engine, profile: bool) -> float:
    for i in range(20):  # warm-up: caches, prepared statements, the pool
        send(10_000_000 + i)
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1
    event.listen(engine, "before_cursor_execute", count)
    profiler = cProfile.Profile(time.process_time) if profile else None
    start = time.process_time()
    if profiler:
        profiler.enable()
    for i in range(requests):
        send(i)
    if profiler:
        profiler.disable()
    cpu = (time.process_time() - start) / requests * 1000
    event.remove(engine, "before_cursor_execute", count)
    calls = profiler or cProfile.Profile()  # deterministic, unlike CPU time on a shared machine
    if not profiler:
        calls.enable()
        for i in range(CALL_SAMPLE):
            send(20_000_000 + i)
        calls.disable()
    sampled = requests if profiler else CALL_SAMPLE
    total_calls = sum(row[1] for row in calls.getstats() if not isinstance(row.code, str))
    print(f"{name}: {cpu:.2f} ms CPU per request, {statements / requests:.1f} statements per request, "
          f"{total_calls / sampled:,.0f} Python calls per request" + (" (profiled: slower)" if profiler else ""))
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a scratch database is created there)")
    parser.add_argument("--redis", help="a Redis URL for the broker (REDIS_URL), e.g. redis://127.0.0.1:6379/13; "
                        "the filesystem broker otherwise")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="print the top functions by CPU")
    args = parser.parse_args()

    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    url, drop = scratch_database(args.postgres)
    os.environ["BENCH_BARE_DATABASE_URL"] = url.replace("postgresql://", "postgresql+psycopg://", 1)
    from flask_migrate import upgrade

    import bench.bare_app as bare
    from coachapp import create_app
    from coachapp.config import database_url
    from coachapp.extensions import db

    app = create_app({"SECRET_KEY": secrets.token_hex(16), "SQLALCHEMY_DATABASE_URI": database_url(url, Path(
        os.environ["COACHAPP_INSTANCE"])), "BASE_URL": "http://coach.test", "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False, "FORM_MIN_SECONDS": 0, "SMTP_URL": None})
    try:
        with app.app_context():
            upgrade()
            make_coach(db)
            db.session.commit()
            engine = db.engine
        bare.create_table()
        client, bare_client = app.test_client(), bare.app.test_client()
        run = secrets.token_hex(3)

        def api(i: int) -> None:
            contact = {**CONTACT, "email": f"api-{run}-{i}@example.com"}
            response = client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": contact})
            assert response.status_code == 201, response.get_json()

        def strategy(i: int) -> None:
            response = client.post("/strategy-session", data={**STRATEGY_FORM, "email": f"s-{run}-{i}@example.com"})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]

        def baseline(i: int) -> None:
            response = bare_client.post("/submit", json={"answers": DESK_ACHILLES,
                                                         "contact": {"email": f"b-{run}-{i}@example.com"}})
            assert response.status_code == 201

        print(f"database: {engine.dialect.name}; {args.requests} requests each, after 20 to warm up")
        bare_cpu = measure("bare: validate + one INSERT", baseline, args.requests, bare.engine, False)
        for name, send in (("API POST /api/v1/assessments", api), ("POST /strategy-session", strategy)):
            cpu = measure(name, send, args.requests, engine, args.profile)
            print(f"  ratio to bare: {cpu / bare_cpu:.1f}×")
    finally:
        with app.app_context():
            db.engine.dispose()
        bare.engine.dispose()
        drop()


if __name__ == "__main__":
    main()
