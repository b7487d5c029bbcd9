"""Benchmark the CSV lead import at 10,000 rows: `python bench/bench_import.py [--postgres URL]`.

Builds a scratch SQLite database (and a scratch PostgreSQL database with ``--postgres URL``,
e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``; created and dropped here) with the real
migrations and 1,000 existing leads, then times (median of ``--runs``, each on emptied lead
tables re-seeded the same way):

* the import: ``importer.create_job`` (decode, count) + ``importer.run`` (the Celery task's body:
  parse, validate and normalise every row, dedupe, one SELECT / multi-row INSERT / event INSERT
  per batch of 1,000, a commit per batch with progress) of a 10,000-row file in which 1,000 rows
  match existing leads (filled in) and 100 are invalid;
* the dry run of the same file (``importer.dry_run``: everything but the writes);
* the baseline, in the same run: a raw ``executemany`` INSERT of the same 10,000 rows' values
  into ``leads`` (already validated: no parsing, no normalisation, no events), one commit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="coachapp-bench-"))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import delete, insert, text  # noqa: E402

from coachapp import create_app  # noqa: E402
from coachapp.config import database_url  # noqa: E402
from coachapp.extensions import db  # noqa: E402
from coachapp.leads import importer  # noqa: E402
from coachapp.models import Coach, ImportJob, Lead, LeadEvent  # noqa: E402

ROWS = 10_000
EXISTING = 1_000
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FIRST = ["Dana", "Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan", "Taylor", "Jamie", "Zoë"]


def csv_file() -> bytes:
    lines = ["Email,First name,Last name,Phone,Stage,Source,Opted in,Opt-in date,Notes"]
    for i in range(ROWS):
        email = f"runner{i}@example.com" if i % 100 else f"broken{i}-example.com"
        stage = ("new", "contacted", "nurture")[i % 3]
        optin = "yes,2025-06-01" if i % 4 == 0 else ","
        lines.append(f"{email},{FIRST[i % 10]},Runner,+1 512 555 {i % 10000:04d},{stage},club,{optin},"
                     f"{'met at the 10k' if i % 10 == 0 else ''}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def reset(owner_id: int) -> None:
    for model in (LeadEvent, Lead, ImportJob):
        db.session.execute(delete(model))
    db.session.execute(insert(Lead), [
        {"email": f"runner{i}@example.com", "email_display": f"runner{i}@example.com", "stage": "new",
         "source": "assessment", "needs_clinician": False, "created_at": NOW, "updated_at": NOW}
        for i in range(0, ROWS, ROWS // EXISTING)])
    db.session.commit()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(url: str, label: str, runs: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "BASE_URL": "http://bench.test"})
    raw = csv_file()
    with app.app_context():
        upgrade()
        owner = Coach(name="Bench Owner", email="owner@bench.example", is_owner=True, time_zone="UTC",
                      working_hours={}, services=[], in_person=True, online=True, active=True)
        db.session.add(owner)
        db.session.commit()
        imports, dry, base, result = [], [], [], ""
        for _ in range(runs):
            reset(owner.id)

            def dry_run() -> None:
                job = importer.create_job("bench.csv", raw, owner, NOW)
                importer.dry_run(job, NOW)
                db.session.rollback()

            dry.append(timed(dry_run))
            reset(owner.id)

            def full_import() -> None:
                nonlocal result
                job = importer.create_job("bench.csv", raw, owner, NOW)
                importer.queue(job)
                db.session.commit()
                result = importer.run(job.id)

            imports.append(timed(full_import))
            reset(owner.id)
            values = [{"email": f"base{i}@example.com", "email_display": f"base{i}@example.com",
                       "first_name": FIRST[i % 10], "last_name": "Runner", "phone": f"+1512555{i % 10000:04d}",
                       "stage": "new", "source": "club", "needs_clinician": False, "created_at": NOW,
                       "updated_at": NOW} for i in range(ROWS)]

            def baseline(values=values) -> None:  # Core insert, no RETURNING: the driver's executemany
                db.session.connection().execute(insert(Lead.__table__), values)
                db.session.commit()

            base.append(timed(baseline))
        db.session.execute(text("SELECT 1"))
        print(f"{label}: import of {ROWS:,} rows ({EXISTING:,} existing leads matched; {result}): "
              f"median {statistics.median(imports):.2f} s ({ROWS / statistics.median(imports):,.0f} rows/s); "
              f"dry run {statistics.median(dry):.2f} s; baseline raw executemany INSERT of {ROWS:,} rows "
              f"{statistics.median(base):.2f} s; ratio {statistics.median(imports) / statistics.median(base):.1f}×")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a scratch database is made there)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        bench(database_url(f"sqlite:///{scratch}/bench.sqlite", Path(scratch)), "SQLite", args.runs)
    if args.postgres:
        name = f"coachapp_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}"))
            bench(database_url(url, Path(tempfile.gettempdir())), "PostgreSQL", args.runs)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
