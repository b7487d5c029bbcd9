"""A deterministic set of leads with known outcomes for Insights → Outcomes, and the tables it must give.

``specs(n, now)`` says, per lead, everything the page should find (predicted tier, source, first
assessment, which steps it reached); ``seed(specs)`` writes it the ways the app does — stage
events, current stages, booking rows of several providers, strategy requests, priority events
(including a re-tier after booking that must *not* count), a later retake and an unfinished
assessment that must not count either — with set-based inserts; ``expected(specs)`` tallies the
specs in plain Python, independently of the SQL.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from coachapp.analytics.answers import NONE_TICKED
from coachapp.analytics.stats import Counts
from coachapp.dashboard.sources import source_key
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Booking, Lead, LeadEvent, StrategyRequest

TIERS = ("A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3")
SOURCES = ("google", "Google ", "instagram", "direct", "www.Strava.com")
GOALS = ("none", "5k_10k", "half", "marathon", "ultra", "trail_race")
TERRAIN = (["road"], ["road", "trail_smooth"], [], ["track"])
TOPS = ("ankle_dorsiflexion", "hip_extension", None)


@dataclass
class Spec:
    i: int
    created: datetime
    counted: bool  # in the period and not erased
    source: str
    tier: str  # predicted ("" = none recorded)
    assessed: bool
    top: str | None
    flags: list[str]
    answers: dict[str, Any]
    requested: bool
    booked: bool
    attended: bool
    client: bool
    extra: dict[str, Any] = field(default_factory=dict)


def specs(n: int, now: datetime) -> list[Spec]:
    out = []
    for i in range(n):
        outside, erased = i % 97 == 0, i % 89 == 0
        created = now - (timedelta(days=200) if outside else timedelta(hours=1 + (i * 7) % (24 * 20)))
        t = (i * 5) % 9
        u = (i * 37 + 11) % 100
        client_pct = 36 - 4 * t  # A1 36 % … C3 4 %: the tiers are built to be in order
        client, attended, booked, requested = (u < client_pct, u < client_pct + 8, u < client_pct + 18,
                                               u < client_pct + 33)
        untiered = i % 50 == 7  # no priority event at all: the tier now counts only if never booked
        tier = ("" if booked else "C3") if untiered else TIERS[t]
        assessed = i % 10 != 9
        flags = [f for f, on in (("HYPERMOBILE", i % 4 == 0), ("NO_STRENGTH_WORK", i % 6 == 0)) if on]
        answers = {"goal_event": GOALS[i % 6], "terrain": TERRAIN[i % 4],
                   "hm_5pq": [] if i % 3 else ["palms_floor", "thumb_forearm"],
                   "restarting_after_break": i % 2 == 0, "weekly_km": 30 + i % 20}
        out.append(Spec(i, created, not outside and not erased, SOURCES[i % 5], tier, assessed,
                        TOPS[i % 3] if assessed else None, flags if assessed else [], answers if assessed else {},
                        requested, booked, attended, client, {"erased": erased, "untiered": untiered}))
    return out


def seed(rows: list[Spec]) -> None:
    """Write the specs (ids = i + 1), set-based."""
    leads, events, requests, bookings, subs = [], [], [], [], []
    later_events: list[dict[str, Any]] = []

    def stage(lead_id: int, before: str, after: str, when: datetime) -> None:
        later_events.append({"lead_id": lead_id, "kind": "stage", "summary": f"{before} → {after}",
                             "data": {"before": before, "after": after}, "created_at": when})

    for s in rows:
        lid, day = s.i + 1, timedelta(days=1)
        now_stage, now_tier = "new", s.tier or None
        if not s.extra["untiered"]:
            events.append({"lead_id": lid, "kind": "priority", "summary": "tier", "created_at": s.created,
                           "data": {"was": None, "tier": s.tier, "status": "open"}})
        if s.requested and (not s.booked or s.i % 2 == 0):
            requests.append({"lead_id": lid, "token": secrets.token_urlsafe(12), "time_zone": "UTC",
                             "created_at": s.created + timedelta(hours=2), "answers": {}, "first_touch": {}})
        if s.booked:
            booked_at = s.created + day
            if s.i % 5 == 0:  # only a provider's booking row, cancelled later: still booked
                bookings.append({"lead_id": lid, "provider": "calcom", "uid": f"c-{lid}", "status": "cancelled",
                                 "created_at": booked_at, "updated_at": booked_at, "sequence": 0})
                now_stage = "contacted"
            else:
                stage(lid, "new", "session_booked", booked_at)
                now_stage = "session_booked"
            # booking raises the tier: this later tier must not be the predicted one
            later_events.append({"lead_id": lid, "kind": "priority", "summary": "tier", "created_at": booked_at,
                                 "data": {"was": s.tier, "tier": "A1", "status": "open"}})
            now_tier = "A1"
            if not s.attended and s.i % 7 == 0:
                stage(lid, now_stage, "no_show", booked_at + timedelta(hours=1))
                now_stage = "no_show"
        if s.attended:
            if s.i % 3 == 0:
                bookings.append({"lead_id": lid, "provider": "calendly", "uid": f"h-{lid}", "status": "held",
                                 "created_at": s.created + 2 * day, "updated_at": s.created + 2 * day, "sequence": 0})
            else:
                stage(lid, now_stage, "session_held", s.created + 2 * day)
                now_stage = "session_held"
        if s.client:
            if s.i % 4 == 0:
                stage(lid, now_stage, "client", s.created + 3 * day)
            now_stage = "client"  # otherwise only the stage today says so
        elif not s.booked and s.i % 3 == 0:
            stage(lid, "new", "lost", s.created + 3 * day)
            now_stage = "lost"
        leads.append({"id": lid, "email": f"runner{s.i}@outcomes.example", "email_display": f"Runner {s.i}",
                      "source": s.source, "stage": now_stage, "tier": now_tier, "created_at": s.created,
                      "updated_at": s.created, "top_priority": s.top,
                      "erased_at": s.created + day if s.extra["erased"] else None})
        if s.i % 11 == 0:  # an unfinished assessment, started first: not "the first finished"
            subs.append(_submission(lid, s.created, "in_progress", {"goal_event": "ultra"}, None, ["LEGACY"]))
        if s.assessed:
            subs.append(_submission(lid, s.created, "completed", s.answers, s.top, s.flags))
            if s.i % 7 == 0:  # a retake later: the first finished one still counts
                subs.append(_submission(lid, s.created + 5 * day, "completed", {"goal_event": "ultra", "terrain": []},
                                        "thoracic_rotation", ["TECHNICAL_TRAIL"]))
    db.session.execute(insert(Lead), leads)
    for model, batch in ((LeadEvent, events), (LeadEvent, later_events), (StrategyRequest, requests),
                         (Booking, bookings), (AssessmentSubmission, subs)):
        if batch:
            db.session.execute(insert(model), batch)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT max(id) FROM leads))"))
    db.session.commit()


def _submission(lead_id: int, when: datetime, status: str, answers: dict[str, Any], top: str | None,
                flags: list[str]) -> dict[str, Any]:
    done = status == "completed"
    return {"lead_id": lead_id, "token": secrets.token_urlsafe(12), "status": status, "channel": "web",
            "answers": answers, "steps_done": [], "first_touch": {}, "started_at": when, "updated_at": when,
            "completed_at": when + timedelta(minutes=3) if done else None, "top_priority": top,
            "result": {"flags": [{"id": f, "label": f} for f in flags], "priorities": []} if done else None,
            # as the app writes them now; every other row as stored before them (read from the result)
            "flag_ids": list(flags) if done and lead_id % 2 else None}


def _counts(group: list[Spec]) -> Counts:
    return Counts(len(group), sum(s.requested for s in group), sum(s.booked for s in group),
                  sum(s.attended for s in group), sum(s.client for s in group))


def expected(rows: list[Spec]) -> dict[str, dict[Any, Counts]]:
    """The tables, tallied from the specs: {table: {key: Counts}} (answers keyed by (question, value))."""
    counted = [s for s in rows if s.counted]
    groups: dict[str, dict[Any, list[Spec]]] = {t: {} for t in ("tier", "source", "priority", "flag", "answer")}
    for s in counted:
        groups["tier"].setdefault(s.tier, []).append(s)
        groups["source"].setdefault(source_key(s.source), []).append(s)
        groups["priority"].setdefault(None if not s.assessed else (s.top or ""), []).append(s)
        for f in s.flags:
            groups["flag"].setdefault(f, []).append(s)
        for q in ("goal_event", "terrain", "hm_5pq", "restarting_after_break"):
            if q not in s.answers:
                continue
            value = s.answers[q]
            values = ([NONE_TICKED] if value == [] else value) if isinstance(value, list) else [
                ("true" if value else "false") if isinstance(value, bool) else value]
            for v in values:
                groups["answer"].setdefault((q, v), []).append(s)
    out = {table: {key: _counts(g) for key, g in found.items()} for table, found in groups.items()}
    out["all"] = {"all": _counts(counted)}
    return out


def tally(rows: list[Spec]) -> Counter[str]:
    """How many counted leads reached each step (a quick sanity figure for the test's own data)."""
    c = _counts([s for s in rows if s.counted])
    return Counter({"leads": c.leads, "requested": c.requested, "booked": c.booked, "attended": c.attended,
                    "clients": c.clients})
