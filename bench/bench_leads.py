"""Benchmark the leads list and CSV export at 100,000 leads: `python bench/bench_leads.py`.

Builds a scratch SQLite database (and a scratch PostgreSQL database with ``--postgres URL``,
e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``; it is created and dropped here) with
the real migrations, seeds 100,000 varied leads over four coaches and nobody, runs ANALYZE, and
times (median of ``--runs``) the dashboard's own queries from ``coachapp.dashboard.queries``:
the first page (default sort, owner and coach scope), a deep keyset page, filters, searches, an
OFFSET sort, the whole page rendered over HTTP, and the full CSV export (rows/s, and peak traced
memory for 10,000 and 100,000 rows to show it does not grow with the row count). Baselines
measured in the same run: a primary-key lookup and ``SELECT count(*) FROM leads``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="coachapp-bench-"))

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from coachapp import create_app  # noqa: E402
from coachapp.auth.passwords import hash_password  # noqa: E402
from coachapp.config import database_url  # noqa: E402
from coachapp.dashboard.leads_list import csv_chunks  # noqa: E402
from coachapp.dashboard.queries import (  # noqa: E402
    Cursor,
    LeadFilters,
    export_query,
    fetch_page,
    iter_export,
    list_query,
)
from coachapp.extensions import db  # noqa: E402
from coachapp.models import STAGES, Coach, Lead  # noqa: E402

PASSWORD = "bench-Horse-42-battery"
START = datetime(2024, 1, 1, tzinfo=UTC)
TIERS = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3", None]
REGIONS = ["ankle_dorsiflexion", "hip_extension", "hip_internal_rotation", "thoracic_rotation", None]
FIRST = ["Dana", "Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan", "Taylor", "Jamie", "Avery", "Quinn", "Zoë"]
LAST = ["Runner", "Miller", "Garcia", "Nguyen", "Smith", "Okafor", "Kowalski", "Haddad", "Larsen", "Ito"]


def make_app(url: str) -> Flask:
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SMTP_URL": None, "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,  # the bench signs in by posting the form directly
        "SQLALCHEMY_DATABASE_URI": database_url(url, Path(os.environ["COACHAPP_INSTANCE"])),
    })
    with app.app_context():
        upgrade()
    return app


def seed(rows: int) -> list[Coach]:
    """Four coaches (the first is the owner) and ``rows`` leads, about one every 5 minutes."""
    coaches = [Coach(name=f"Coach {i}", email=f"coach{i}@motive.example", is_owner=i == 0,
                     password_hash=hash_password(PASSWORD) if i == 0 else None) for i in range(4)]
    db.session.add_all(coaches)
    db.session.commit()
    owners = [c.id for c in coaches] + [None]
    for lo in range(0, rows, 10_000):
        db.session.execute(insert(Lead), [{
            "email": f"runner{i}@example.com", "email_display": f"Runner{i}@Example.com",
            "first_name": FIRST[i % len(FIRST)], "last_name": f"{LAST[i % len(LAST)]}{i % 1000}",
            "phone": f"+1512{(i * 7919) % 10_000_000:07d}", "stage": STAGES[(i * 7) % len(STAGES)],
            "tier": TIERS[(i * 3) % len(TIERS)], "source": ("google", "strava", "direct", "instagram")[i % 4],
            "top_priority": REGIONS[i % len(REGIONS)], "needs_clinician": i % 40 == 0,
            "owner_id": owners[i % len(owners)], "created_at": START + timedelta(seconds=300 * i + i % 7),
            "updated_at": START, "fit_score": i % 100, "urgency_score": (i * 13) % 100, "engagement_score": i % 37,
            "utm_campaign": "spring-10k" if i % 3 else None,
        } for i in range(lo, min(rows, lo + 10_000))])
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE leads" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return coaches


def plan(stmt: Any) -> str:
    """The query plan in one line: PostgreSQL node types with their index, or SQLite's plan details.

    PostgreSQL gets the parameters bound, as at run time (a LIKE pattern written into the SQL
    would be planned differently); SQLite's plan does not depend on the values.
    """
    with db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            return "; ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        compiled = stmt.compile(dialect=conn.dialect)
        root = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()[0]["Plan"]
    parts, todo = [], [root]
    while todo:
        node = todo.pop(0)
        where = node.get("Index Name") or node.get("Relation Name")
        parts.append(node["Node Type"] + (f" ({where})" if where else ""))
        todo.extend(node.get("Plans", []))
    return " > ".join(parts)


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        db.session.rollback()
    return statistics.median(samples)


def export(coach: Coach, filters: LeadFilters) -> int:
    """Run the whole CSV export (the view's own generator); returns the characters produced."""
    return sum(len(chunk) for chunk in csv_chunks(iter_export(db.session, export_query(coach, filters))))


def export_peak_kib(coach: Coach, filters: LeadFilters) -> float:
    tracemalloc.start()
    export(coach, filters)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    return peak / 1024


def run(app: Flask, label: str, rows: int, runs: int) -> None:
    with app.app_context():
        start = time.perf_counter()
        owner, coach = seed(rows)[:2]
        print(f"\n## {label}: {rows:,} leads seeded in {time.perf_counter() - start:.1f} s\n")
        deep = db.session.execute(select(Lead.created_at, Lead.id).order_by(Lead.created_at.desc(), Lead.id.desc())
                                  .offset(int(rows * 0.9)).limit(1)).one()
        mid_id = rows // 2

        def page(who: Coach, **kw: Any) -> Callable[[], Any]:
            return lambda: fetch_page(db.session, who, LeadFilters(**kw))

        cases: list[tuple[str, Callable[[], Any]]] = [
            ("baseline: primary-key lookup", lambda: db.session.execute(
                select(Lead.id, Lead.email).where(Lead.id == mid_id)).one()),
            ("baseline: SELECT count(*) FROM leads", lambda: db.session.execute(
                select(func.count()).select_from(Lead)).scalar_one()),
            ("page 1, newest (owner)", page(owner)),
            ("page 1, newest (coach scope)", page(coach)),
            ("deep keyset page (90% down)", page(owner, after=Cursor(deep.created_at, deep.id))),
            ("comparison only: same depth by OFFSET", lambda: db.session.execute(
                list_query(owner, LeadFilters()).offset(int(rows * 0.9))).all()),
            ("stage + tier filter", page(owner, stage="contacted", tier="A2")),
            ("search: name (common)", page(owner, q="jordan")),
            ("search: email (one match)", page(owner, q=f"runner{mid_id}@")),
            ("search: phone digits (rare)", page(coach, q="(512) 123-45")),
            ("sort by tier, page 20 (OFFSET 950)", page(owner, sort="tier", page=20)),
        ]
        print("| query | median ms |\n|---|---:|")
        for name, fn in cases:
            print(f"| {name} | {median_ms(fn, runs):.2f} |")

        print("\nPlans of the page queries:\n")
        for name, who, filters in [
            ("page 1, newest", owner, LeadFilters()), ("page 1, coach scope", coach, LeadFilters()),
            ("deep keyset page", owner, LeadFilters(after=Cursor(deep.created_at, deep.id))),
            ("stage + tier", owner, LeadFilters(stage="contacted", tier="A2")),
            ("search", owner, LeadFilters(q="jordan")), ("sort by tier", owner, LeadFilters(sort="tier", page=20)),
        ]:
            print(f"- {name}: `{plan(list_query(who, filters))}`")
        print()

        client = app.test_client()
        signed_in = client.post("/auth/login", data={"email": owner.email, "password": PASSWORD})
        assert signed_in.status_code == 302, signed_in.status_code

        def http_page() -> None:
            assert client.get("/dashboard/leads").status_code == 200

        print(f"| whole page over HTTP (render, 50 rows) | {median_ms(http_page, runs):.2f} |")

        some = LeadFilters(created_to=(START + timedelta(seconds=300 * rows // 10)).date())
        full = LeadFilters()
        exported = db.session.execute(select(func.count()).select_from(export_query(owner, some).subquery()))\
            .scalar_one()
        seconds = median_ms(lambda: export(owner, full), max(3, runs // 3)) / 1000
        print(f"\nCSV export, all {rows:,} rows: {seconds:.2f} s = {rows / seconds:,.0f} rows/s, "
              f"{export(owner, full) / 1e6:.1f} MB")
        print(f"peak traced memory: {export_peak_kib(owner, some):,.0f} KiB for {exported:,} rows, "
              f"{export_peak_kib(owner, full):,.0f} KiB for {rows:,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--postgres", metavar="URL", help="a server to create (and drop) a scratch database on")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs")

    folder = Path(tempfile.mkdtemp(prefix="coachapp-bench-db-"))
    run(make_app(f"sqlite:///{folder / 'bench.sqlite'}"), "SQLite", args.rows, args.runs)
    if args.postgres:
        name = f"coachapp_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            version = conn.execute("SHOW server_version").fetchone()[0]
        app = None
        try:
            app = make_app(urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}")))
            run(app, f"PostgreSQL {version}", args.rows, args.runs)
        finally:
            if app is not None:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
