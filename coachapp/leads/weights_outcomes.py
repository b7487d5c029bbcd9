"""Which leads have an outcome, and what the priority rules saw before it (issue 14.3). Service.

**Outcome.** A lead *converted* when it booked a session or became a client: it has a
``Booking`` row (any provider, any status), or its stage was ever moved to (or is now) one of
``CONVERTED_STAGES`` (a no-show had booked). It did *not* convert when it has neither and it
is decided: marked lost, or created at least ``decided_after_days`` (30) days ago. Younger
undecided leads, erased leads and clinician-first leads (a red safety flag: no sales talk, so
their outcome says nothing about the weights) are left out and counted.

**Features as of before the outcome.** The facts are rebuilt with ``triage.build_facts`` (the
function the app tiers with) from what was stored *before* the lead converted: the latest
completed assessment and strategy request at or before its first booking or converted stage
move, a reply only if it came before, and the stage as it was ("new"), so ``session_booked``
and the stage — the outcome itself — never leak into the features. A converted lead with no
booking or stage move stored (imported as a client) is read with everything it has. The lead's stored reasons
are not used: they are re-scored after every change, so they include the booking.

Set-based: five statements (leads, first booking per lead, first converted stage move per lead,
completed assessments, strategy requests), whatever the number of leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, func, select

from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.leads.triage import build_facts
from coachapp.leads.weights import FitResult, Sample, feature_row, fit_weights
from coachapp.leads.weights_diff import proposed_diff
from coachapp.models import AssessmentSubmission, Booking, Lead, LeadEvent, StrategyRequest

CONVERTED_STAGES = ("session_booked", "session_held", "no_show", "client")
DECIDED_AFTER_DAYS = 30  # coach_judgement: a lead this old with no booking has not converted


@dataclass(frozen=True)
class OutcomeCounts:
    converted: int
    not_converted: int
    undecided: int  # younger than the cut-off, not lost, no booking
    clinician_first: int  # left out: no sales talk with a red flag

    @property
    def with_outcome(self) -> int:
        return self.converted + self.not_converted


@dataclass(frozen=True)
class WeightsReport:
    fit: FitResult
    counts: OutcomeCounts
    diff: str  # the proposed priority.yaml diff; "" when nothing would change
    since: date | None
    decided_after_days: int


def _lead_ids(since: datetime | None) -> Select[tuple[int]]:
    query = select(Lead.id).where(Lead.erased_at.is_(None))
    return query.where(Lead.created_at >= since) if since is not None else query


def _first_conversion(since: datetime | None) -> dict[int, datetime]:
    """The first time each lead booked or was moved to a converted stage."""
    first: dict[int, datetime] = {}
    booked = select(Booking.lead_id, func.min(Booking.created_at)).group_by(Booking.lead_id)
    moved = (select(LeadEvent.lead_id, func.min(LeadEvent.created_at))
             .where(LeadEvent.kind == "stage", LeadEvent.data["after"].as_string().in_(CONVERTED_STAGES))
             .group_by(LeadEvent.lead_id))
    if since is not None:
        booked = booked.where(Booking.lead_id.in_(_lead_ids(since)))
        moved = moved.where(LeadEvent.lead_id.in_(_lead_ids(since)))
    for query in (booked, moved):
        for lead_id, when in db.session.execute(query):
            if when is not None and (lead_id not in first or when < first[lead_id]):
                first[lead_id] = when
    return first


def _latest_before(rows: Iterable[Any], cutoff: dict[int, datetime | None], when_at: int) -> dict[int, Any]:
    """Per lead, the last row (ordered by time) at or before the lead's cut-off (None: no cut-off)."""
    latest: dict[int, Any] = {}
    for row in rows:
        lead_id = row[0]
        if lead_id not in cutoff:
            continue
        limit = cutoff[lead_id]
        if limit is None or row[when_at] <= limit:
            latest[lead_id] = row
    return latest


def _assessments(since: datetime | None) -> Select[Any]:
    a = AssessmentSubmission
    query = (select(a.lead_id, a.completed_at, a.answers["goal_event"].as_string(),
                    a.answers["race_date"].as_string(), a.answers["current_pain_nrs"].as_float(),
                    a.answers["injury_history"].as_string(), a.answers["desk_hours"].as_string(),
                    a.result["flags"], a.result[("derived", "self_tests_completed")].as_float(),
                    # the column (set on completion) spares the database a parse of the result
                    func.coalesce(a.safety_level, a.result[("safety", "level")].as_string()))
             .where(a.status == "completed", a.lead_id.is_not(None), a.completed_at.is_not(None))
             .order_by(a.completed_at, a.id))
    return query.where(a.lead_id.in_(_lead_ids(since))) if since is not None else query


def _requests(since: datetime | None) -> Select[Any]:
    r = StrategyRequest
    query = select(r.lead_id, r.created_at, r.answers).order_by(r.created_at, r.id)
    return query.where(r.lead_id.in_(_lead_ids(since))) if since is not None else query


def _number(value: float | None) -> int | float | None:
    return int(value) if value is not None and float(value).is_integer() else value


def _assessment_view(row: Any) -> SimpleNamespace:
    """What ``build_facts`` reads from an assessment, from the few JSON values selected."""
    _, _, goal, race, pain, injury, desk, flags, tests, safety = row
    answers = {"goal_event": goal, "race_date": race, "current_pain_nrs": _number(pain),
               "injury_history": injury, "desk_hours": desk}
    result = {"flags": [f for f in flags or [] if isinstance(f, dict) and "id" in f],
              "derived": {"self_tests_completed": _number(tests) or 0}, "safety": {"level": safety or "ok"}}
    return SimpleNamespace(answers=answers, result=result)


def outcome_samples(rules: Rules, now: datetime, since: date | None = None,
                    decided_after_days: int = DECIDED_AFTER_DAYS) -> tuple[list[Sample], OutcomeCounts]:
    """One ``Sample`` (lead id, converted, rule matches before the outcome) per decided lead."""
    start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since is not None else None
    decided_by = now - timedelta(days=decided_after_days)
    converted_at = _first_conversion(start)
    leads = db.session.execute(select(Lead.id, Lead.created_at, Lead.stage, Lead.replied_at, Lead.needs_clinician)
                               .where(Lead.id.in_(_lead_ids(start)))).all()
    cutoff: dict[int, datetime | None] = {}
    outcome: dict[int, tuple[bool, str, datetime | None, datetime]] = {}
    undecided = clinician = 0
    for lead_id, created, stage, replied_at, needs_clinician in leads:
        if needs_clinician:
            clinician += 1
            continue
        converted = lead_id in converted_at or stage in CONVERTED_STAGES
        if not converted and stage != "lost" and created > decided_by:
            undecided += 1
            continue
        cutoff[lead_id] = converted_at.get(lead_id) if converted else None
        outcome[lead_id] = (converted, "new" if converted else stage, replied_at, created)
    assessments = _latest_before(db.session.execute(_assessments(start)), cutoff, 1)
    asked = _latest_before(db.session.execute(_requests(start)), cutoff, 1)
    samples = []
    for lead_id, (converted, stage, replied_at, created) in outcome.items():
        limit = cutoff[lead_id]
        replied = replied_at if replied_at is not None and (limit is None or replied_at <= limit) else None
        a_row, r_row = assessments.get(lead_id), asked.get(lead_id)
        scored_at = max([created] + [row[1] for row in (a_row, r_row) if row is not None])
        facts = build_facts(SimpleNamespace(stage=stage, replied_at=replied, needs_clinician=False),  # type: ignore[arg-type]
                            _assessment_view(a_row) if a_row is not None else None,  # type: ignore[arg-type]
                            SimpleNamespace(answers=r_row[2] or {}) if r_row is not None else None,  # type: ignore[arg-type]
                            scored_at)
        samples.append(Sample(lead_id, converted, feature_row(rules.leads, facts)))
    positives = sum(s.converted for s in samples)
    return samples, OutcomeCounts(positives, len(samples) - positives, undecided, clinician)


def fit_from_outcomes(rules: Rules, rules_text: str, now: datetime, since: date | None = None,
                      decided_after_days: int = DECIDED_AFTER_DAYS) -> WeightsReport:
    """The fit, the suggested points and the proposed diff of ``rules_text`` (priority.yaml's text)."""
    samples, counts = outcome_samples(rules, now, since, decided_after_days)
    fit = fit_weights(rules.leads, samples)
    diff = proposed_diff(rules_text, fit.changes) if fit.enough else ""
    return WeightsReport(fit=fit, counts=counts, diff=diff, since=since, decided_after_days=decided_after_days)


def priority_yaml(rules_dir: str | Path) -> str:
    """The text of ``leads/priority.yaml`` in the rules folder (read only: the diff is proposed)."""
    return (Path(rules_dir) / "leads" / "priority.yaml").read_text(encoding="utf-8")
