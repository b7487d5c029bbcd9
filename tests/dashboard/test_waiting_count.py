"""The nav's waiting count (on every dashboard page): what it counts, and that it reads indexes.

The count is a ``UNION`` of index-backed id sets (issue 12, read side); it must count exactly
what the ``OR`` of ``EXISTS`` it replaced counted. Timings are not asserted (bench/bench_reads.py).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from sqlalchemy import exists, func, insert, or_, select, text

from coachapp.dashboard.today import WAITING_CAP, waiting_query
from coachapp.extensions import db
from coachapp.leads.worklist import my_task
from coachapp.leads.worktime import end_of_local_day
from coachapp.models import CoachTask, Lead, LeadEvent, utcnow
from tests.dashboard.test_leads_list import bulk_leads
from tests.helpers_strategy import make_coach


def _or_form(coach, now) -> int:
    """The count as it was written before: every lead, an OR of EXISTS (the reference)."""
    end_today = end_of_local_day(now, coach.time_zone)
    due = exists().where(CoachTask.lead_id == Lead.id, CoachTask.status == "open",
                         CoachTask.due_at < end_today, my_task(coach))
    touched = or_(exists().where(LeadEvent.lead_id == Lead.id, LeadEvent.kind == "note"),
                  exists().where(CoachTask.lead_id == Lead.id, CoachTask.status == "done"))
    in_care = or_(Lead.owner_id == coach.id, Lead.owner_id.is_(None)) if coach.is_owner else Lead.owner_id == coach.id
    untouched_new = (Lead.stage == "new") & in_care & ~touched
    return db.session.execute(select(func.count()).select_from(Lead)
                              .where(Lead.erased_at.is_(None), or_(due, untouched_new))).scalar_one()


def _timeline(lead_ids: list[int], owners: dict[int, int | None], coach_ids: list[int | None], now,
              open_share: float = 0.5) -> None:
    """Notes on some leads; tasks open (overdue, due today, next week), done or cancelled, for the
    lead's owner, another coach or nobody (seeded, so every coach gets a mix)."""
    rng = random.Random(12)
    dues = [now - timedelta(days=2), now + timedelta(minutes=30), now + timedelta(days=6)]
    events = [{"lead_id": i, "kind": rng.choice(["note", "stage", "email_queued"]), "summary": "x", "data": {},
               "created_at": now} for i in lead_ids if rng.random() < 0.6]
    tasks = [{"lead_id": i, "coach_id": owners[i] if rng.random() < 0.6 else rng.choice(coach_ids),
              "kind": "first_contact", "title": "Call", "due_at": rng.choice(dues),
              "status": "open" if rng.random() < open_share else rng.choice(["done", "cancelled"]),
              "created_at": now}
             for i in lead_ids if rng.random() < 0.8]
    db.session.execute(insert(LeadEvent), events)
    db.session.execute(insert(CoachTask), tasks)
    db.session.commit()


def test_the_union_counts_what_the_or_form_counted(db_app):
    owner = make_coach(db, name="Olive Owner", email="olive@motive.example", is_owner=True)
    sam = make_coach(db, name="Sam Coach", email="sam@motive.example")
    kim = make_coach(db, name="Kim Coach", email="kim@motive.example", time_zone="Asia/Tokyo")
    coach_ids = [owner.id, sam.id, kim.id, None]
    bulk_leads(600, owners=coach_ids)
    db.session.execute(Lead.__table__.update().where(Lead.id % 11 == 0).values(erased_at=utcnow()))
    owners = dict(db.session.execute(select(Lead.id, Lead.owner_id)).all())
    now = utcnow()
    _timeline(sorted(owners), owners, coach_ids, now)
    exact = {coach.name: db.session.execute(waiting_query(coach, now, cap=10_000)).scalar_one()
             for coach in (owner, sam, kim)}
    assert exact == {coach.name: _or_form(coach, now) for coach in (owner, sam, kim)}
    assert all(exact.values()) and len(set(exact.values())) == 3, exact
    # Capped (the nav): exact below the cap, "at least the cap" from there.
    for cap in (10, 40, WAITING_CAP):
        for coach in (owner, sam, kim):
            capped = db.session.execute(waiting_query(coach, now, cap=cap)).scalar_one()
            assert capped == exact[coach.name] if exact[coach.name] < cap else capped >= cap, (cap, coach.name)
    assert min(exact.values()) < 10 <= max(exact.values()) or max(exact.values()) >= 40, exact


def test_the_nav_says_99_plus_past_the_cap(db_app):
    """A coach with more waiting than the cap sees "99+" on Today's link, not a partial count."""
    from tests.helpers_dashboard import coach_with_password, sign_in

    owner = coach_with_password(db, name="Olive Owner", email="olive@motive.example", is_owner=True)
    bulk_leads(8 * (WAITING_CAP + 5), owners=[owner.id])  # one in eight is "new"
    page = sign_in(db_app, owner).get("/dashboard/leads").get_data(as_text=True)
    assert f"{WAITING_CAP - 1}+<span class=\"visually-hidden\"> waiting</span>" in page


def test_the_count_reads_indexes_not_every_lead(db_app):
    """New leads from an index (PostgreSQL: the partial one), each probed in the note and done-task
    indexes; no table is read whole."""
    owner = make_coach(db, name="Olive Owner", email="olive@motive.example", is_owner=True)
    sam = make_coach(db, name="Sam Coach", email="sam@motive.example")
    coach_ids = [owner.id, sam.id, None]
    bulk_leads(16_000, owners=coach_ids)
    owners = dict(db.session.execute(select(Lead.id, Lead.owner_id)).all())
    now = utcnow()
    _timeline(sorted(owners), owners, coach_ids, now, open_share=0.03)  # most tasks long finished
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    for coach in (owner, sam):
        stmt = waiting_query(coach, now)
        if db.engine.dialect.name != "postgresql":
            sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
            with db.engine.connect() as conn:
                details = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            whole = [d for d in details if d.startswith(("SCAN leads", "SCAN lead_events", "SCAN coach_tasks"))]
            assert not whole, details
            assert all(any(name in d for d in details) for name in ("ix_lead_events_note_lead_id",
                                                                    "ix_coach_tasks_done_lead_id")), details
            continue
        compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        nodes, todo = [], [plan[0]["Plan"]]
        while todo:
            node = todo.pop()
            nodes.append(node)
            todo.extend(node.get("Plans", []))
        scans = {(n.get("Relation Name"), n["Node Type"], n.get("Index Name")) for n in nodes if n.get("Relation Name")}
        assert not [s for s in scans if s[1] == "Seq Scan"], scans
        assert {"ix_lead_events_note_lead_id", "ix_coach_tasks_done_lead_id"} <= {s[2] for s in scans}, scans
