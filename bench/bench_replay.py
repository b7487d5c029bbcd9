"""Benchmark the rules replay (issue 15.3): `python bench/bench_replay.py [--postgres URL] [--runs 3]`.

Makes a scratch PostgreSQL database (default server ``postgresql://postgres@127.0.0.1:5432/postgres``;
created and dropped here) with the real migrations, 10,000 completed submissions with varied
answers (two in three with a lead, a strategy request for every fifth lead) and a draft of the
shipped rules with the priority threshold raised (40 → 55). Then times (median of ``--runs``):

* the replay of the last 1,000 and of all 10,000 submissions: ``replay.start`` + ``replay.run``,
  the Celery task's body — load both rule sets, read the submissions in batches of 500 (only the
  columns needed, with the lead's stage and replies and the latest request), evaluate and tier
  each under both, commit the progress per batch, write the summary and the changed runners once;
* the baseline, in the same run: ``evaluate`` of the same answers once under one rule set, from
  memory (no database, no tiering) — what a replay costs at the least is twice that.

Refuses to run while /tmp/BENCH_RUNNING exists (another benchmark is measuring the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="coachapp-bench-"))

import random  # noqa: E402

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from coachapp import create_app, rules_store  # noqa: E402
from coachapp.assessment import evaluate, read_texts  # noqa: E402
from coachapp.assessment.samples import random_answers  # noqa: E402
from coachapp.config import database_url  # noqa: E402
from coachapp.extensions import db  # noqa: E402
from coachapp.models import STAGES, AssessmentSubmission, Coach, Lead, StrategyRequest  # noqa: E402
from coachapp.rules_preview import replay  # noqa: E402
from coachapp.rules_versions import services  # noqa: E402

SUBMISSIONS = 10_000
START = datetime(2026, 6, 1, 9, tzinfo=UTC)


def seed(rules) -> None:
    rng = random.Random(42)
    leads = [{"email": f"r{i}@bench.example", "email_display": f"r{i}@bench.example", "first_name": "R",
              "stage": STAGES[i % len(STAGES)], "source": "assessment", "needs_clinician": False,
              "replied_at": START if i % 4 == 0 else None, "created_at": START, "updated_at": START}
             for i in range(SUBMISSIONS)]
    lead_ids = list(db.session.execute(insert(Lead).returning(Lead.id), leads).scalars())
    db.session.execute(insert(StrategyRequest), [
        {"lead_id": lead_ids[i], "answers": {"services": ["mobility"], "delivery": "online",
                                             "dealing_with": ["stalled"], "start_timing": "within_month"},
         "token": f"req-{i}", "time_zone": "UTC", "created_at": START} for i in range(0, SUBMISSIONS, 5)])
    rows = []
    for i in range(SUBMISSIONS):
        completed = START + timedelta(minutes=17 * i)
        rows.append({"token": f"bench-{i}", "lead_id": lead_ids[i] if i % 3 else None, "status": "completed",
                     "answers": random_answers(rules.assessment, rng, completed.date()), "steps_done": [],
                     "first_touch": {}, "rules_version": rules.version, "result": {}, "started_at": completed,
                     "updated_at": completed, "completed_at": completed})
    db.session.execute(insert(AssessmentSubmission), rows)
    db.session.commit()


def bench(url: str, runs: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "BASE_URL": "http://bench.test"})
    with app.app_context():
        upgrade()
        owner = Coach(name="Bench Owner", email="owner@bench.example", is_owner=True, time_zone="UTC",
                      working_hours={}, services=[], in_person=True, online=True, active=True)
        db.session.add(owner)
        live = rules_store.files_rules()
        seed(live)
        texts = read_texts(ROOT / "rules", [])
        texts["scoring/regions.yaml"] = texts["scoring/regions.yaml"].replace("priority_threshold: 40",
                                                                              "priority_threshold: 55", 1)
        draft = services.create_draft(texts, services.Actor.cli(), START, note="bench")
        db.session.commit()
        services.load(draft)  # compiled once per process, as in a worker that has seen it
        for n in (1_000, SUBMISSIONS):
            answers = [a for (a,) in db.session.execute(
                select(AssessmentSubmission.answers).order_by(AssessmentSubmission.completed_at.desc()).limit(n))]
            db.session.rollback()
            today = START.date()
            replays, base, outcome = [], [], ""
            for _ in range(runs):
                run = replay.start(draft, n, owner)
                db.session.commit()
                clock = time.perf_counter()
                outcome = replay.run(run.id)
                replays.append(time.perf_counter() - clock)
                clock = time.perf_counter()
                for a in answers:
                    evaluate(live, a, today)
                base.append(time.perf_counter() - clock)
            r, b = statistics.median(replays), statistics.median(base)
            print(f"PostgreSQL: replay of {n:,} submissions under the draft and live ({outcome}): median {r:.2f} s "
                  f"({n / r:,.0f} submissions/s); baseline evaluate() of the same answers once under one rule set, "
                  f"in memory: {b:.2f} s ({n / b:,.0f}/s); ratio {r / b:.1f}×")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if Path("/tmp/BENCH_RUNNING").exists():
        sys.exit("/tmp/BENCH_RUNNING exists: another benchmark is measuring this machine; try later.")
    name = f"coachapp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}"))
        bench(database_url(url, Path(tempfile.gettempdir())), args.runs)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
