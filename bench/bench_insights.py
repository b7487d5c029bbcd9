"""The owner's Insights pages at 100,000 leads, in process: `python bench/bench_insights.py`.

Creates a scratch PostgreSQL database on ``--postgres`` (dropped at the end unless ``--keep``), runs
the real migrations and seeds ``--rows`` leads spread over the last 52 weeks, with what the
Insights pages read, in batches of 10,000 rows (``INSERT … VALUES`` executemany):

- per lead: a web assessment completed by 90 % of them, its answers and its **whole engine result**
  (200 varied answer sets from ``assessment.samples.random_answers``, evaluated once; ~14 KB of
  JSON each, as stored), its first touch; unfinished assessments besides (20 % of the leads);
- a timeline: three routine events, a note on one in four, a priority event (the tier), a stage
  event per step reached, and a re-tier after booking; a first-contact task;
- strategy requests (~45 %), bookings (~25 %: held, no-show, cancelled), and the sessions booked,
  attended and clients that follow, more often for better tiers; hourly visit counts.

Then ``VACUUM ANALYZE`` and, signed in as the owner on a production-like app (``COACHAPP_ENV=
production``, as ``bench_reads.py``), times every URL of ``PAGES`` (p50/p99 wall time over
``--requests`` after 3 warm-ups, mean CPU per request of this process and of the database's
backends, statement count), next to a baseline measured in the same run: a bare Flask route doing
one primary-key SELECT. Target: p99 ≤ 50 ms for a page at 100,000 leads (the dashboard's).

``PAGES`` is the list to extend (the Priority weights page is in it since the merge). ``--keep NAME`` seeds
once and reuses the database; ``--profile`` adds cProfile and ``EXPLAIN (ANALYZE, BUFFERS)``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import psycopg  # noqa: E402
from bench_leads import PASSWORD  # noqa: E402
from bench_reads import (  # noqa: E402
    DBNAME,
    bare_app,
    explain,
    make_app,
    profile,
    sign_in,
    statements,
    timed,
)
from sqlalchemy import func, insert, select, text  # noqa: E402

from coachapp.assessment import evaluate, load_rules  # noqa: E402
from coachapp.assessment.samples import random_answers  # noqa: E402
from coachapp.auth.passwords import hash_password  # noqa: E402
from coachapp.config import database_url  # noqa: E402
from coachapp.extensions import db  # noqa: E402
from coachapp.models import (  # noqa: E402
    AssessmentSubmission,
    Booking,
    Coach,
    CoachTask,
    Lead,
    LeadEvent,
    PageVisit,
    StrategyRequest,
    utcnow,
)
from coachapp.models.visit import ASSESSMENT_INTRO  # noqa: E402

#: The Insights URLs measured, in order: (label, path). Another page joins by adding a line here.
PAGES: list[tuple[str, str]] = [
    ("Insights, last 12 weeks (default)", "/dashboard/insights"),
    ("Insights, last 52 weeks", "/dashboard/insights?weeks=52"),
    ("Outcomes, last 12 weeks (default)", "/dashboard/insights/outcomes"),
    ("Outcomes, last 52 weeks", "/dashboard/insights/outcomes?weeks=52"),
    ("Outcomes CSV, last 12 weeks", "/dashboard/insights/outcomes.csv"),
    ("Outcomes CSV, last 52 weeks", "/dashboard/insights/outcomes.csv?weeks=52"),
    ("Priority weights (issue 14.3)", "/dashboard/insights/weights"),
]
#: Counting again (the POST behind "Count again now"; also what the first view after
#: ``snapshot.minutes`` pays): (label, page, weeks). Timed over ``--count-requests``.
COUNTS: list[tuple[str, str, int]] = [
    ("Insights: count again, 12 weeks", "/dashboard/insights", 12),
    ("Insights: count again, 52 weeks", "/dashboard/insights", 52),
    ("Outcomes: count again, 12 weeks", "/dashboard/insights/outcomes", 12),
    ("Outcomes: count again, 52 weeks", "/dashboard/insights/outcomes", 52),
]
TARGET_P99_MS = 50.0
TIERS = ("A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3")
SOURCES = ("google", "Google", "instagram", "strava.com", "direct", "facebook")
NOISE = ("lead_created", "consent", "email_queued")
BATCH = 10_000
ANSWER_SETS = 200


def _results() -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
    """(answers, engine result, top priority region) for ANSWER_SETS varied answer sets."""
    rules = load_rules(ROOT / "rules")
    rng, today = random.Random(42), date.today()
    out = []
    for _ in range(ANSWER_SETS):
        answers = random_answers(rules.assessment, rng, today)
        result = evaluate(rules, answers, today).to_dict()
        out.append((answers, result, result["priorities"][0]["region"] if result["priorities"] else None))
    return out


def _stage(lead_id: int, before: str, after: str, at: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "kind": "stage", "summary": f"Moved from {before} to {after}",
            "data": {"before": before, "after": after}, "created_at": at}


def seed(rows: int) -> dict[str, int]:
    """Coaches, then ``rows`` leads with everything above, in batches; returns row counts."""
    coaches = [Coach(name=f"Coach {i}", email=f"coach{i}@motive.example", is_owner=i == 0, time_zone="UTC",
                     password_hash=hash_password(PASSWORD) if i == 0 else None) for i in range(4)]
    db.session.add_all(coaches)
    db.session.commit()
    owners = [c.id for c in coaches]
    sets = _results()
    rng = random.Random(7)
    now = utcnow()
    span = timedelta(weeks=52).total_seconds()
    counts = dict.fromkeys(("leads", "events", "submissions", "requests", "bookings", "tasks", "visits"), 0)
    for lo in range(0, rows, BATCH):
        leads, events, subs, requests, bookings, tasks = [], [], [], [], [], []
        for i in range(lo, min(rows, lo + BATCH)):
            lid = i + 1
            created = now - timedelta(seconds=span * (rows - i) / rows)
            t = rng.randrange(9)
            u = rng.random()
            p_client = 0.14 - 0.012 * t
            client, attended = u < p_client, u < p_client + 0.05
            booked, requested = u < p_client + 0.12, u < p_client + 0.32
            source, owner = SOURCES[i % len(SOURCES)], owners[i % len(owners)]
            answers, result, top = sets[i % ANSWER_SETS]
            assessed = rng.random() < 0.9
            stage, tier = "new", TIERS[t]
            events += [{"lead_id": lid, "kind": k, "summary": k, "data": {}, "created_at": created} for k in NOISE]
            events.append({"lead_id": lid, "kind": "priority", "summary": f"Tier {tier}", "created_at": created,
                           "data": {"was": None, "tier": tier, "status": "open"}})
            if i % 4 == 0:
                events.append({"lead_id": lid, "kind": "note", "summary": "Called", "data": {}, "created_at": created})
            if requested:
                requests.append({"lead_id": lid, "token": uuid.uuid4().hex, "time_zone": "UTC", "answers": {},
                                 "first_touch": {}, "created_at": created + timedelta(minutes=20)})
            contacted = booked or rng.random() < 0.3
            if contacted:
                events.append(_stage(lid, "new", "contacted", created + timedelta(hours=3)))
                stage = "contacted"
            if booked:
                at = created + timedelta(days=1)
                events.append(_stage(lid, stage, "session_booked", at))
                events.append({"lead_id": lid, "kind": "priority", "summary": "Tier A1", "created_at": at,
                               "data": {"was": tier, "tier": "A1", "status": "open"}})
                status = "held" if attended else ("no_show" if i % 3 else "cancelled")
                bookings.append({"lead_id": lid, "provider": "coachapp", "uid": f"bench-{lid}", "coach_id": owner,
                                 "start_at": at + timedelta(days=2), "end_at": at + timedelta(days=2, minutes=30),
                                 "status": status, "sequence": 0, "created_at": at, "updated_at": at})
                stage, tier = {"held": "session_held", "no_show": "no_show", "cancelled": "contacted"}[status], "A1"
                if status != "cancelled":
                    events.append(_stage(lid, "session_booked", stage, at + timedelta(days=2)))
            if client:
                events.append(_stage(lid, stage, "client", created + timedelta(days=5)))
                stage = "client"
            elif not booked and i % 5 == 0:
                events.append(_stage(lid, stage, "lost", created + timedelta(days=9)))
                stage = "lost"
            leads.append({"id": lid, "email": f"runner{i}@example.com", "email_display": f"Runner{i}@example.com",
                          "first_name": "Runner", "source": source, "stage": stage, "tier": tier,
                          "top_priority": top if assessed else None, "owner_id": owner, "created_at": created,
                          "updated_at": created, "fit_score": 50, "urgency_score": 40, "engagement_score": 30})
            tasks.append({"lead_id": lid, "coach_id": owner, "kind": "first_contact", "title": "First contact",
                          "due_at": created + timedelta(hours=4), "created_at": created,
                          "status": "done" if contacted else "open" if i > rows - 1500 else "cancelled",
                          "completed_at": created + timedelta(hours=3) if contacted else None})
            touch = {"utm_source": source}
            if assessed:
                subs.append({"lead_id": lid, "token": uuid.uuid4().hex, "status": "completed", "channel": "web",
                             "answers": answers, "result": result, "top_priority": top, "steps_done": [],
                             "flag_ids": [flag["id"] for flag in result["flags"]],
                             "current_step": "contact", "first_touch": touch,
                             "started_at": created - timedelta(minutes=9), "updated_at": created,
                             "completed_at": created, "safety_level": result["safety"]["level"]})
            if i % 5 == 0:  # an abandoned start (no lead)
                subs.append({"lead_id": None, "token": uuid.uuid4().hex, "status": "in_progress", "channel": "web",
                             "answers": {"age_band": "30-39"}, "steps_done": ["about_you"], "current_step": "safety",
                             "first_touch": touch, "started_at": created, "updated_at": created})
        for model, batch in ((Lead, leads), (LeadEvent, events), (AssessmentSubmission, subs),
                             (StrategyRequest, requests), (Booking, bookings), (CoachTask, tasks)):
            if batch:
                db.session.execute(insert(model), batch)
        db.session.commit()
        for name, batch in (("leads", leads), ("events", events), ("submissions", subs), ("requests", requests),
                            ("bookings", bookings), ("tasks", tasks)):
            counts[name] += len(batch)
    hours = [now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h) for h in range(52 * 7 * 24)]
    visits = [{"hour": h, "page": ASSESSMENT_INTRO, "source": s, "count": 2 + (n % 5)}
              for n, h in enumerate(hours) for s in SOURCES[:3]]
    for lo in range(0, len(visits), BATCH):
        db.session.execute(insert(PageVisit), visits[lo:lo + BATCH])
    db.session.commit()
    counts["visits"] = len(visits)
    db.session.execute(text("SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT max(id) FROM leads))"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return counts


def run(url: str, rows: int, n: int, do_profile: bool, n_counts: int) -> None:
    app = make_app(url)
    with app.app_context():
        if not db.session.execute(select(Lead.id).limit(1)).first():
            started = time.perf_counter()
            counts = seed(rows)
            print(f"seeded in {time.perf_counter() - started:.0f} s: "
                  + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + "\n")
        owner_email = db.session.execute(select(Coach.email).where(Coach.is_owner)).scalar_one()
        total = db.session.execute(select(func.count()).select_from(Lead)).scalar_one()
        mid = db.session.execute(select(Lead.id).order_by(Lead.id).offset(total // 2).limit(1)).scalar_one()
        db.session.remove()
    client = sign_in(app, owner_email)
    base = "https://coach.bench.example"
    bare = bare_app(database_url(url, Path("."))).test_client()

    def get(path: str):
        def fn() -> None:
            answer = client.get(path, base_url=base)
            assert answer.status_code == 200, (path, answer.status_code)
        return fn

    def recount(path: str, weeks: int) -> None:
        """The POST behind "Count again now" (its CSRF token read from the page, as a browser would)."""
        page = client.get(f"{path}?weeks={weeks}", base_url=base).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        answer = client.post(path, base_url=base, data={"csrf_token": token, "weeks": str(weeks)},
                             headers={"Referer": base + path})
        assert answer.status_code == 303, (path, answer.status_code)

    for _, path, weeks in COUNTS:  # fresh counts, so none expires while the page views are timed
        recount(path, weeks)
    base_fig = timed(lambda: bare.get(f"/row/{mid}"), n)
    print(f"{total:,} leads; {n} requests per figure after 3 warm-ups; target p99 ≤ {TARGET_P99_MS:g} ms\n")
    print("| request | p50 ms | p99 ms | CPU ms / request: app + PostgreSQL | p99 / baseline p99 | met |\n"
          "|---|---:|---:|---:|---:|---|")
    print(f"| baseline: bare Flask, primary-key GET | {base_fig['p50']:.2f} | {base_fig['p99']:.2f} | "
          f"{base_fig['cpu']:.1f} + {base_fig['db']:.1f} | 1.0× | |")
    for label, path in PAGES:
        fig = timed(get(path), n)
        with statements(app) as seen:
            get(path)()
        slowest = max(seen, key=lambda s: s[2])
        print(f"| {label} (`{path}`; {len(seen)} statements, slowest {slowest[2]:.1f} ms) | {fig['p50']:.1f} | "
              f"{fig['p99']:.1f} | {fig['cpu']:.1f} + {fig['db']:.1f} | {fig['p99'] / base_fig['p99']:.0f}× | "
              f"{'yes' if fig['p99'] <= TARGET_P99_MS else 'no'} |", flush=True)
    print("\n| counting again (GET the page, POST \"Count again now\") | p50 ms | p99 ms | "
          "CPU ms / request: app + PostgreSQL |\n|---|---:|---:|---:|")
    for label, path, weeks in COUNTS:
        fig = timed(lambda path=path, weeks=weeks: recount(path, weeks), n_counts)
        print(f"| {label} | {fig['p50']:.0f} | {fig['p99']:.0f} | {fig['cpu']:.0f} + {fig['db']:.0f} |", flush=True)
    if do_profile:
        for label, path, weeks in COUNTS:
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get(path, base_url=base).get_data(as_text=True))[1]
            with statements(app) as seen:
                client.post(path, base_url=base, data={"csrf_token": token, "weeks": str(weeks)},
                            headers={"Referer": base + path})
            print(f"### Statements of {label}, EXPLAIN (ANALYZE, BUFFERS)")
            explain(app, seen)
        for label, path in PAGES:
            profile(get(path), label, 5)
            with statements(app) as seen:
                get(path)()
            print(f"### Statements of {label}, EXPLAIN (ANALYZE, BUFFERS)")
            explain(app, seen)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server to create (and drop) a scratch database on")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--count-requests", type=int, default=5, help="how many times each count is timed")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", metavar="NAME", help="use (seed if empty) and keep this scratch database")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    name = args.keep or f"coachapp_insights_{uuid.uuid4().hex[:8]}"
    DBNAME.append(name)
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run(urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}")), args.rows, args.requests, args.profile,
            args.count_requests)
    finally:
        if not args.keep:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
