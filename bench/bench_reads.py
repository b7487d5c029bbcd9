"""Whole signed-in reads at 100,000 leads, in process: `python bench/bench_reads.py --postgres URL`.

Creates a scratch PostgreSQL database on the given server (dropped at the end), runs the real
migrations, seeds ``--rows`` leads with ``bench_leads.seed`` plus a realistic timeline (three
events per lead, a note on one in four) and a first-contact task per lead (open on the newest
1,500, done or cancelled on the rest), runs VACUUM ANALYZE, then signs in as the owner with the Flask
test client on a production-like app (``COACHAPP_ENV=production``: JSON logs, hidden SQL
parameters, CSRF on, the same engine options) and times whole requests — p50/p99 wall time over
``--requests``, and the mean CPU time per request of this process (``time.process_time``) and of
the database's backends:

- the leads list, first page; a search for a common name (``jordan``); a search for one whole
  email address (an exact match);
- the whole CSV export (rows/s, median of 3; peak traced memory at 10 % and 100 % of the rows:
  flat or not).

Baselines in the same run: a bare Flask route doing one primary-key SELECT (test client, same
database), and a raw server-side cursor writing the same CSV columns with ``csv.writer``. CPU per
``--keep NAME`` seeds a database of that name once and reuses it (drop it yourself afterwards).
``--profile`` adds a cProfile (CPU timer) of each page and ``EXPLAIN (ANALYZE, BUFFERS)`` of each
statement a page sends.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="coachapp-bench-"))

import psycopg  # noqa: E402
from bench_leads import PASSWORD, START, seed  # noqa: E402
from flask import Flask, jsonify  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, event, func, insert, select, text  # noqa: E402

from coachapp import create_app  # noqa: E402
from coachapp.config import database_url  # noqa: E402
from coachapp.extensions import db  # noqa: E402
from coachapp.models import Coach, CoachTask, Lead, LeadEvent  # noqa: E402

OPEN_TASKS = 1_500
EVENT_KINDS = ("lead_created", "consent", "email_queued")


def make_app(url: str) -> Flask:
    """The app as production configures it (only the database and the rate limits differ)."""
    env = {"COACHAPP_ENV": "production", "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "BASE_URL": "https://coach.bench.example", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    app = create_app({"RATELIMIT_ENABLED": False, "SQLALCHEMY_DATABASE_URI": database_url(
        url, Path(os.environ["COACHAPP_INSTANCE"]))})
    with app.app_context():
        upgrade()
    return app


def seed_timeline(rows: int) -> tuple[int, int]:
    """Three timeline events per lead (a note on one lead in four) and one first-contact task each."""
    ids = [row.id for row in db.session.execute(select(Lead.id, Lead.owner_id).order_by(Lead.id))]
    owners = dict(db.session.execute(select(Lead.id, Lead.owner_id)).all())
    events = tasks = 0
    for lo in range(0, len(ids), 5_000):
        chunk = ids[lo:lo + 5_000]
        batch = [{"lead_id": i, "kind": kind, "summary": kind, "data": {}, "created_at": START}
                 for i in chunk for kind in EVENT_KINDS]
        batch += [{"lead_id": i, "kind": "note", "summary": "Called", "data": {}, "created_at": START}
                  for i in chunk if i % 4 == 0]
        db.session.execute(insert(LeadEvent), batch)
        events += len(batch)
        task_rows = [{"lead_id": i, "coach_id": owners[i], "kind": "first_contact", "title": "First contact",
                      "due_at": START + timedelta(hours=2),
                      "status": "open" if n >= len(ids) - OPEN_TASKS else ("done" if i % 3 else "cancelled")}
                     for n, i in enumerate(chunk, start=lo)]
        db.session.execute(insert(CoachTask), task_rows)
        tasks += len(task_rows)
    db.session.commit()
    # As autovacuum would have by now on a live 100,000-lead table: statistics and the visibility
    # map (index-only scans skip the heap only for pages marked all-visible).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return events, tasks


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


TICK = os.sysconf("SC_CLK_TCK")
DBNAME: list[str] = []  # the scratch database's name, for its backends' CPU


def db_cpu() -> float:
    """CPU seconds so far of the PostgreSQL backends serving the scratch database (local server)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {DBNAME[0]} " in title:
                raw = Path(f"/proc/{pid}/stat").read_text()
                fields = raw[raw.rindex(")") + 2:].split()
                total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError):
            continue
    return total


def timed(fn: Callable[[], Any], n: int) -> dict[str, float]:
    """p50/p99 wall ms, mean CPU ms of this process and of the database's backends, over ``n``
    calls after 3 warm-ups."""
    for _ in range(3):
        fn()
    wall, cpu = [], []
    before_db = db_cpu()
    for _ in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return {"p50": pct(wall, 50), "p99": pct(wall, 99), "cpu": statistics.mean(cpu),
            "db": (db_cpu() - before_db) * 1000 / n}


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, Any, float]]]:
    """Every statement the app's engine sends in the block, with its parameters and wall ms."""
    seen: list[tuple[str, Any, float]] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_t"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters, (time.perf_counter() - conn.info.pop("bench_t")) * 1000))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def sign_in(app: Flask, email: str) -> Any:
    client = app.test_client()
    base = "https://coach.bench.example"
    page = client.get("/auth/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    answer = client.post("/auth/login", base_url=base, headers={"Referer": base + "/auth/login"},
                         data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    return client


def bare_app(url: str) -> Flask:
    """A primary-key GET in the least Flask can do (as ``bench/bare_app.py``), same database."""
    engine = create_engine(url)
    app = Flask("bare")

    @app.get("/row/<int:row_id>")
    def row(row_id: int) -> Any:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT id, email, first_name, stage, tier, created_at FROM leads "
                                      "WHERE id = :id"), {"id": row_id}).mappings().first()
        return jsonify({k: str(v) for k, v in found.items()})

    return app


RAW_CSV = """SELECT l.id, l.created_at, l.first_name, l.last_name, l.email_display, l.phone, l.stage, l.tier,
    l.fit_score, l.urgency_score, l.engagement_score, l.top_priority, l.needs_clinician, c.name, l.source,
    l.utm_campaign FROM leads l LEFT JOIN coaches c ON c.id = l.owner_id WHERE l.erased_at IS NULL
    ORDER BY l.created_at DESC, l.id DESC"""


def raw_csv(url: str) -> int:
    """The export's columns from a server-side cursor straight into csv.writer: the floor."""
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor(name="bench_raw") as cur:
        cur.itersize = 1000
        cur.execute(RAW_CSV)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        while batch := cur.fetchmany(1000):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(batch)
            rows += len(batch)
            buffer.getvalue()
    return rows


def export_rows(client: Any, query: str = "") -> int:
    answer = client.get("/dashboard/leads.csv" + query, base_url="https://coach.bench.example", buffered=False)
    assert answer.status_code == 200
    lines = sum(chunk.count(b"\n") for chunk in answer.response)
    answer.close()
    return lines - 1


def peak_kib(fn: Callable[[], Any]) -> tuple[float, Any]:
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024, result


def explain(app: Flask, seen: list[tuple[str, Any, float]]) -> None:
    with app.app_context(), db.engine.connect() as conn:
        for statement, params, ms in seen:
            print(f"\n-- {ms:.1f} ms: {' '.join(statement.split())[:300]}")
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params).scalars().all()
            print("\n".join("   " + line for line in plan))


def profile(fn: Callable[[], Any], label: str, n: int = 20) -> None:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(n):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(f"\n### cProfile (CPU), {label}, {n} requests\n")
    print(out.getvalue())


def run(url: str, rows: int, n: int, do_profile: bool) -> None:
    app = make_app(url)
    with app.app_context():
        if not db.session.execute(select(Lead.id).limit(1)).first():
            t = time.perf_counter()
            seed(rows)
            events, tasks = seed_timeline(rows)
            print(f"seeded {rows:,} leads, {events:,} events, {tasks:,} tasks in {time.perf_counter() - t:.0f} s\n")
        owner_email = db.session.execute(select(Coach.email).where(Coach.is_owner)).scalar_one()
        rows = db.session.execute(select(func.count()).select_from(Lead)).scalar_one()
        mid = db.session.execute(select(Lead.id, Lead.email).order_by(Lead.id).offset(rows // 2).limit(1)).one()
        db.session.remove()
    client = sign_in(app, owner_email)
    base = "https://coach.bench.example"
    bare = bare_app(database_url(url, Path("."))).test_client()

    def get(path: str) -> Callable[[], Any]:
        def fn() -> None:
            answer = client.get(path, base_url=base)
            assert answer.status_code == 200, (path, answer.status_code)
        return fn

    pages = {
        "leads list, first page": "/dashboard/leads",
        "search, common name (`jordan`)": "/dashboard/leads?q=jordan",
        "search, one whole email": f"/dashboard/leads?q={quote(mid.email)}",
    }
    base_fig = timed(lambda: bare.get(f"/row/{mid.id}"), n)
    print("| request | p50 ms | p99 ms | CPU ms / request: app + PostgreSQL | p99 / baseline p99 |\n"
          "|---|---:|---:|---:|---:|")
    print(f"| baseline: bare Flask, primary-key GET | {base_fig['p50']:.2f} | {base_fig['p99']:.2f} | "
          f"{base_fig['cpu']:.1f} + {base_fig['db']:.1f} | 1.0× |")
    for label, path in pages.items():
        fig = timed(get(path), n)
        with statements(app) as seen:
            get(path)()
        slowest = max(seen, key=lambda s: s[2])
        print(f"| {label} ({len(seen)} statements, slowest {slowest[2]:.1f} ms) | {fig['p50']:.2f} | "
              f"{fig['p99']:.2f} | {fig['cpu']:.1f} + {fig['db']:.1f} | {fig['p99'] / base_fig['p99']:.1f}× |")

    raw_runs, app_runs = [], []
    for _ in range(3):  # interleaved, median of 3 each
        t = time.perf_counter()
        raw = raw_csv(url)
        raw_runs.append(time.perf_counter() - t)
        time.sleep(0.5)  # its backend exits first, so the database CPU below is the app's only
        t, c, d = time.perf_counter(), time.process_time(), db_cpu()
        lines = export_rows(client)
        app_runs.append((time.perf_counter() - t, time.process_time() - c, db_cpu() - d))
    raw_s = statistics.median(raw_runs)
    app_s, app_cpu, pg_cpu = sorted(app_runs)[1]
    cutoff = (START + timedelta(seconds=300 * rows // 10)).date().isoformat()
    small_peak, small = peak_kib(lambda: export_rows(client, f"?to={cutoff}"))
    full_peak, _ = peak_kib(lambda: export_rows(client))
    print("\n| CSV, all leads | rows/s | CPU s: app + PostgreSQL | peak traced memory |\n|---|---:|---:|---:|")
    print(f"| baseline: raw server-side cursor + csv.writer ({raw:,} rows) | {raw / raw_s:,.0f} | — | — |")
    print(f"| `GET /dashboard/leads.csv` ({lines:,} rows) | {lines / app_s:,.0f} ({lines / app_s / (raw / raw_s):.0%}"
          f" of raw) | {app_cpu:.2f} + {pg_cpu:.2f} | {small_peak:,.0f} KiB at {small:,} rows, {full_peak:,.0f} KiB at "
          f"{lines:,} |")

    if do_profile:
        for label, path in pages.items():
            profile(get(path), label)
            with statements(app) as seen:
                get(path)()
            print(f"### Statements of {label}, EXPLAIN (ANALYZE, BUFFERS)")
            explain(app, seen)
        profile(lambda: export_rows(client), "CSV export", 1)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server to create (and drop) a scratch database on")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", metavar="NAME", help="use (seed if empty) and keep this scratch database")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"{args.requests} requests per figure")
    name = args.keep or f"coachapp_reads_{uuid.uuid4().hex[:8]}"
    DBNAME.append(name)
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run(urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}")), args.rows, args.requests, args.profile)
    finally:
        if not args.keep:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
