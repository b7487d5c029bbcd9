"""Seeded outcomes for the priority-weights fit (issue 14.3), inserted in bulk.

Every lead has a completed assessment (and one in three a strategy request). Built so that the
fit should beat the current points: sitting 8+ hours a day (``fit.desk_bound``, 10 points today)
strongly predicts a booking, while a race 8–16 weeks out (``urg.race_8_16w``, 40 points today)
predicts nothing. Outcomes arrive three ways: a ``Booking`` row, a stage move to a booked stage
(then client), and a booking later marked lost (still converted: they booked). Also seeded, and
left out of the fit: young undecided leads and clinician-first leads. Used by the tests and by
``bench/bench_fit.py``.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Booking, Lead, LeadEvent, StrategyRequest

DESK = ("<4", "4-6", "6-8", "8-10", ">10")
GOALS = ("none", "5k_10k", "half", "marathon", "ultra", "trail_race")
RACE_WEEKS = (None, 4, 12, 20, 40)
INJURY = ("none", "recent_stopped", "recent_ran_through", "older")
FLAGS = ("PREVIOUS_INJURY_12M", "SINGLE_RUN_SPIKE", "MARATHON_BUILD", "LOW_CALF_CAPACITY")
CHUNK = 5_000


@dataclass
class Seeded:
    converted: int = 0
    not_converted: int = 0
    undecided: int = 0
    clinician_first: int = 0


def _answers(rng: random.Random, completed: datetime) -> dict[str, Any]:
    weeks = rng.choice(RACE_WEEKS)
    return {
        "age_band": rng.choice(("18-29", "30-39", "40-49", "50-59")), "sex": rng.choice(("female", "male")),
        "desk_hours": rng.choice(DESK), "strength_sessions_per_week": "0", "sf_screen": ["none"],
        "years_running": "2-5", "runs_per_week": "3", "weekly_km": rng.randint(10, 60),
        "weekly_change": "about_same", "longest_run_30d_km": 15, "planned_longest_next_14d_km": 16,
        "terrain": ["road"], "goal_event": rng.choice(GOALS),
        "race_date": (completed.date() + timedelta(weeks=weeks)).isoformat() if weeks else None,
        "injury_history": rng.choice(INJURY), "injury_areas": [], "current_pain_nrs": rng.choice((0, 0, 1, 3, 5)),
        "feels_tight": ["calves"], "hm_5pq": [],
    }


def _result(rng: random.Random) -> dict[str, Any]:
    flags = [{"id": f, "severity": "info", "label": f.title()} for f in FLAGS if rng.random() < 0.2]
    return {"flags": flags, "safety": {"level": "ok", "reasons": []},
            "derived": {"self_tests_completed": rng.choice((0, 0, 1, 3)), "weeks_to_race": None},
            "plan": {"blocks": ["x" * 60] * 20}, "priorities": [{"region": "ankle", "score": 40}]}


def _request(rng: random.Random) -> dict[str, Any]:
    return {"services": [rng.choice(("mobility_coaching", "online_coaching", "kinstretch", "not_sure"))],
            "delivery": rng.choice(("in_person", "online", "either")), "in_area": rng.random() < 0.6,
            "start_timing": rng.choice(("asap", "within_month", "within_3_months", "exploring")),
            "dealing_with": [rng.choice(("pain", "stalled", "performance", "general_health"))],
            "running_history": "1-3y", "safety": {"level": "ok"}}


def seed_outcomes(count: int, now: datetime, seed: int = 14, events_per_lead: int = 0,
                  young_share: float = 0.1, clinician_share: float = 0.02) -> Seeded:
    """``count`` leads with outcomes as described above; returns what the fit should count."""
    rng = random.Random(seed)
    tally = Seeded()
    for lo in range(0, count, CHUNK):
        plans = []
        for i in range(lo, min(count, lo + CHUNK)):
            young = rng.random() < young_share
            created = now - timedelta(days=rng.uniform(0.5, 20) if young else rng.uniform(40, 400))
            completed = created + timedelta(minutes=9)
            answers = _answers(rng, completed)
            desk = answers["desk_hours"] in ("8-10", ">10")
            converted = rng.random() < (0.55 if desk else 0.08)
            clinician = rng.random() < clinician_share
            way = rng.choice(("booking", "moved", "booked_then_lost")) if converted else None
            stage = {"booking": "session_booked", "moved": "client", "booked_then_lost": "lost",
                     None: rng.choice(("new", "contacted", "nurture", "lost"))}[way]
            if clinician:
                tally.clinician_first += 1
            elif converted:
                tally.converted += 1
            elif stage != "lost" and young:
                tally.undecided += 1
            else:
                tally.not_converted += 1
            plans.append((i, created, completed, answers, stage, way, clinician))
        lead_ids = db.session.execute(insert(Lead).returning(Lead.id, sort_by_parameter_order=True), [
            {"email": f"w{seed}-{i}@weights.example", "email_display": f"w{seed}-{i}@weights.example",
             "stage": stage, "needs_clinician": clinician, "source": "seed", "created_at": created,
             "updated_at": created, "tier": "B2"}
            for i, created, _, _, stage, _, clinician in plans]).scalars().all()
        subs, requests, bookings, events = [], [], [], []
        for lead_id, (_, created, completed, answers, _, way, _) in zip(lead_ids, plans, strict=True):
            subs.append({"token": secrets.token_urlsafe(16), "lead_id": lead_id, "status": "completed",
                         "answers": answers, "result": _result(rng), "started_at": created,
                         "updated_at": completed, "completed_at": completed, "steps_done": [],
                         "first_touch": {}, "safety_level": "ok", "channel": "web"})
            if rng.random() < 1 / 3:
                requests.append({"token": secrets.token_urlsafe(16), "lead_id": lead_id, "answers": _request(rng),
                                 "time_zone": "UTC", "first_touch": {}, "created_at": completed + timedelta(hours=1)})
            booked_at = completed + timedelta(days=2)
            if way in ("booking", "booked_then_lost"):
                bookings.append({"lead_id": lead_id, "provider": "calcom", "uid": f"seed-{seed}-{lead_id}",
                                 "start_at": booked_at + timedelta(days=3), "status": "booked",
                                 "created_at": booked_at, "updated_at": booked_at})
            if way == "moved":
                events.append({"lead_id": lead_id, "kind": "stage", "summary": "Moved from new to session booked",
                               "data": {"before": "new", "after": "session_booked"}, "created_at": booked_at})
                events.append({"lead_id": lead_id, "kind": "stage", "summary": "Moved from session held to client",
                               "data": {"before": "session_held", "after": "client"},
                               "created_at": booked_at + timedelta(days=7)})
            events += [{"lead_id": lead_id, "kind": kind, "summary": kind, "data": {}, "created_at": created}
                       for kind in ("lead_created", "consent", "email_queued")[:events_per_lead]]
        for model, rows in ((AssessmentSubmission, subs), (StrategyRequest, requests), (Booking, bookings),
                            (LeadEvent, events)):
            if rows:
                db.session.execute(insert(model), rows)
    db.session.commit()
    return tally
