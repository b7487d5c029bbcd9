"""The priority-weights fit at 100,000 leads: `python bench/bench_fit.py --postgres URL`.

Creates a scratch PostgreSQL database on the given server (dropped at the end; ``--keep NAME``
seeds a database of that name once and reuses it), runs the real migrations and seeds ``--rows``
leads with ``tests/helpers_weights.seed_outcomes`` (each with a completed assessment, one in
three with a strategy request, outcomes by booking and by stage moves, three timeline events
per lead), then VACUUM ANALYZE. Times (median of ``--runs``, after one warm-up):

- the reads: ``outcome_samples`` (five statements, the facts rebuilt, the rules matched);
- the fit: ``fit_weights`` (scikit-learn, AUCs, the bootstrap);
- the whole ``fit_from_outcomes`` (reads + fit + the proposed diff): the worker's job;
- the owner's page ``/dashboard/insights/weights`` over the Flask test client, which shows the
  last fit kept (``weight_fits``) and computes nothing.

Baseline in the same run: the same leads read plainly (``SELECT id, created_at, stage FROM
leads``, every row to Python), so the ratio says what the fit costs beyond touching the rows.
Refuses to start while /tmp/BENCH_RUNNING exists (another benchmark is measuring).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="coachapp-bench-"))

import psycopg  # noqa: E402
from bench_leads import make_app  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from coachapp.auth.passwords import hash_password  # noqa: E402
from coachapp.extensions import db  # noqa: E402
from coachapp.leads import weight_fits  # noqa: E402
from coachapp.leads.weights import fit_weights  # noqa: E402
from coachapp.leads.weights_outcomes import (  # noqa: E402
    DECIDED_AFTER_DAYS,
    fit_from_outcomes,
    outcome_samples,
    priority_yaml,
)
from coachapp.models import Coach, Lead, utcnow  # noqa: E402
from coachapp.rules_store import get_rules  # noqa: E402
from tests.helpers_weights import seed_outcomes  # noqa: E402

PASSWORD = "bench-Horse-42-battery"
OWNER = "owner@bench.example"


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median wall seconds and median CPU seconds of this process over ``runs`` after a warm-up
    (CPU is steadier on a shared, loaded machine; the database's own CPU is not in it)."""
    result = fn()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        db.session.rollback()
    return statistics.median(wall), statistics.median(cpu), result


def seed(rows: int) -> None:
    if not db.session.scalar(select(func.count()).select_from(Coach).where(Coach.email == OWNER)):
        db.session.add(Coach(name="Owner", email=OWNER, is_owner=True, password_hash=hash_password(PASSWORD)))
        db.session.commit()
    if db.session.scalar(select(func.count()).select_from(Lead)):
        print(f"reusing {db.session.scalar(select(func.count()).select_from(Lead)):,} seeded leads")
        return
    start = time.perf_counter()
    tally = seed_outcomes(rows, utcnow(), events_per_lead=3)
    print(f"seeded {rows:,} leads in {time.perf_counter() - start:.0f} s: {tally}")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def run(app: Any, rows: int, runs: int) -> None:
    with app.app_context():
        seed(rows)
        rules, rules_text, now = get_rules(), priority_yaml(app.config["RULES_DIR"]), utcnow()
        baseline = timed(lambda: db.session.execute(select(Lead.id, Lead.created_at, Lead.stage)).all(), runs)
        *reads, (samples, counts) = timed(lambda: outcome_samples(rules, now), runs)
        *fitting, fit = timed(lambda: fit_weights(rules.leads, samples), runs)
        *whole, report = timed(lambda: fit_from_outcomes(rules, rules_text, now), runs)
        weight_fits.fit_now(rules, app.config["RULES_DIR"], None, DECIDED_AFTER_DAYS, "bench")
        client = app.test_client()
        signed = client.post("/auth/login", data={"email": OWNER, "password": PASSWORD})
        assert signed.status_code == 302, signed.status_code
        *page, status = timed(lambda: client.get("/dashboard/insights/weights").status_code, runs)
        assert status == 200, status
        print(f"leads with an outcome: {counts.with_outcome:,} ({counts.converted:,} converted), "
              f"{counts.undecided:,} undecided, {counts.clinician_first:,} clinician-first")
        print(f"held-out AUC by tier: current {fit.auc_current:.3f}, suggested {fit.auc_suggested:.3f}; "
              f"model {fit.auc_model:.3f}; diff {len(report.diff.splitlines())} lines")
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
        print("| step | median wall s | × baseline | median CPU s (this process) | × baseline |")
        print("|---|---:|---:|---:|---:|")
        for name, seconds in (("baseline: read id, created_at, stage of every lead", baseline),
                              ("reads: outcome_samples (5 statements + facts + rule matches)", reads),
                              ("fit: fit_weights (scikit-learn, AUCs, bootstrap)", fitting),
                              ("whole: fit_from_outcomes (reads + fit + diff)", whole),
                              ("page: GET /dashboard/insights/weights (the last fit kept)", page)):
            (wall, cpu), (base_wall, base_cpu) = seconds[:2], baseline[:2]
            print(f"| {name} | {wall:.3f} | {wall / base_wall:.1f} | {cpu:.3f} | {cpu / base_cpu:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", required=True,
                        help="a server to create (and drop) a scratch database on")
    parser.add_argument("--keep", metavar="NAME", help="seed this database once and keep it (drop it yourself)")
    args = parser.parse_args()
    if Path("/tmp/BENCH_RUNNING").exists():  # noqa: S108 - the machine's shared "quiet please" flag
        sys.exit("another benchmark is measuring (/tmp/BENCH_RUNNING exists): try again later")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs, {args.rows:,} leads")
    name = args.keep or f"coachapp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
        print(f"PostgreSQL {conn.execute('SHOW server_version').fetchone()[0]}")
    app = None
    try:
        app = make_app(urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}")))
        run(app, args.rows, args.runs)
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if not args.keep:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
