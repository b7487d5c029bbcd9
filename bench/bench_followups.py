"""How fast the follow-up sweep turns due steps into outbox emails.

    .venv/bin/python bench/bench_followups.py [--steps 3000] [--postgres postgresql://postgres@127.0.0.1/test]

Builds a scratch database (SQLite; PostgreSQL too with --postgres) with N leads, each with a
due step, then times ``followups.sweep`` batch by batch: claim (SKIP LOCKED on PostgreSQL),
the send-time stop checks, rendering and the outbox row — committed per step. Baseline, same
run: selecting the same N due step ids. Publishing to the broker is switched off (an
unreachable broker costs a timeout per message, which is not what is measured here).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The bench's clock, pinned: a Wednesday noon in the leads' zone (UTC), inside every send
#: window, so it measures sending whatever hour it is run (at night a real clock would defer
#: every step to the morning and queue nothing).
CLOCK = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def build(url: str, steps: int):
    from flask_migrate import upgrade

    from coachapp import create_app
    from coachapp.config import celery_settings
    from coachapp.extensions import db
    from coachapp.models import Enrollment, Lead, SequenceStep

    instance = Path(tempfile.mkdtemp(prefix="bench-followups-"))
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
        "CELERY": celery_settings({"CELERY_BROKER_DIR": str(instance / "broker")}, instance),
    })
    with app.app_context():
        upgrade()
        now = CLOCK
        leads = [{"email": f"r{n}@example.com", "email_display": f"r{n}@example.com", "first_name": f"R{n}",
                  "time_zone": "UTC", "needs_clinician": True, "stage": "new", "source": "bench",
                  "created_at": now, "updated_at": now} for n in range(steps)]
        db.session.execute(Lead.__table__.insert(), leads)
        ids = [row[0] for row in db.session.execute(db.select(Lead.id).order_by(Lead.id))]
        db.session.execute(Enrollment.__table__.insert(), [
            {"lead_id": i, "sequence_id": "red_flag", "status": "active", "enrolled_at": now, "updated_at": now}
            for i in ids])
        enrollments = dict(db.session.execute(db.select(Enrollment.lead_id, Enrollment.id)).all())
        db.session.execute(SequenceStep.__table__.insert(), [
            {"enrollment_id": enrollments[i], "lead_id": i, "sequence_id": "red_flag", "step_id": "see_clinician",
             "template": "red_flag_clinician", "audience": "prospect", "due_at": now - timedelta(minutes=1),
             "status": "planned", "created_at": now, "updated_at": now} for i in ids])
        db.session.commit()
    return app


def measure(app, steps: int) -> dict[str, float]:
    from coachapp.emails import outbox
    from coachapp.extensions import db
    from coachapp.followups import services
    from coachapp.models import SequenceStep
    from coachapp.rules_store import get_rules

    outbox.publish = lambda ids: []  # not measuring the broker
    with app.app_context():
        now = CLOCK
        base = []
        for _ in range(5):
            start = time.perf_counter()
            db.session.execute(db.select(SequenceStep.id).where(SequenceStep.due_at <= now,
                                                                SequenceStep.status == "planned")).all()
            base.append(time.perf_counter() - start)
        db.session.rollback()
        batches, done = [], 0
        start_all = time.perf_counter()
        while done < steps:
            start = time.perf_counter()
            now += timedelta(milliseconds=1)  # the pinned clock moves on, as a real sweep's would
            counts = services.sweep(get_rules(), now, limit=200)
            batches.append(time.perf_counter() - start)
            processed = sum(counts.values())
            if not processed:
                break
            done += processed
        total = time.perf_counter() - start_all
        queued = db.session.execute(db.select(db.func.count()).where(SequenceStep.status == "queued")).scalar_one()
    return {"steps": done, "queued": queued, "steps_per_s": done / total,
            "batch_p50_ms": statistics.median(batches) * 1000, "baseline_select_ms": statistics.median(base) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="bench-instance-"))
    targets = [("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite")]
    database = None
    if args.postgres:
        import psycopg

        name = f"bench_followups_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database = (args.postgres, name)
        targets.append(("PostgreSQL", args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                        + f"/{name}"))
    print(f"{'':12}{'steps':>7}{'steps/s':>10}{'batch of 200 p50':>18}{'baseline: select due ids':>26}")
    try:
        for label, url in targets:
            app = build(url, args.steps)
            r = measure(app, args.steps)
            assert r["queued"] == args.steps, r
            print(f"{label:12}{r['steps']:>7}{r['steps_per_s']:>10.0f}{r['batch_p50_ms']:>15.0f} ms"
                  f"{r['baseline_select_ms']:>23.1f} ms")
            with app.app_context():
                from coachapp.extensions import db

                db.engine.dispose()
    finally:
        if database:
            import psycopg

            with psycopg.connect(database[0], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database[1]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
