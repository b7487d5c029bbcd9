"""Replay and what-if tests: stored submissions (set-based) and a draft with one threshold changed."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select

from coachapp.assessment import Rules, evaluate
from coachapp.assessment.samples import random_answers
from coachapp.extensions import db
from coachapp.leads.priority import score_lead
from coachapp.leads.triage import build_facts
from coachapp.models import STAGES, AssessmentSubmission, Lead
from tests.helpers_rules_versions import edited_copy, import_draft

THRESHOLD_FILE = "scoring/regions.yaml"
OLD_THRESHOLD = "priority_threshold: 40"
NEW_THRESHOLD = "priority_threshold: 55"


def threshold_draft(tmp_path):
    """A draft of the shipped rules with the priority threshold raised from 40 to 55."""
    return import_draft(edited_copy(tmp_path, OLD_THRESHOLD, NEW_THRESHOLD, THRESHOLD_FILE, name="threshold"),
                        note="Priorities from 55")


def identical_draft(tmp_path):
    """A draft whose rules score like the shipped ones (only a comment differs)."""
    return import_draft(edited_copy(tmp_path, OLD_THRESHOLD, OLD_THRESHOLD + "  # unchanged", THRESHOLD_FILE,
                                    name="same"), note="Same rules")


def store_submissions(rules: Rules, count: int, seed: int = 7) -> list[int]:
    """``count`` completed submissions with varied answers, dates and leads (two in three have a
    lead, in varied stages, some who replied), inserted set-based. Returns the submission ids."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    leads = [{"email": f"replay{i}@example.com", "email_display": f"replay{i}@example.com",
              "first_name": f"R{i}", "stage": STAGES[i % len(STAGES)], "source": "direct",
              "replied_at": start if i % 4 == 0 else None, "created_at": start, "updated_at": start}
             for i in range(count)]
    lead_ids = list(db.session.execute(insert(Lead).returning(Lead.id), leads).scalars())
    rows = []
    for i in range(count):
        completed = start + timedelta(days=i % 90, minutes=i)
        answers = random_answers(rules.assessment, rng, completed.date())
        rows.append({"token": f"replay-{seed}-{i}", "lead_id": lead_ids[i] if i % 3 else None, "status": "completed",
                     "answers": answers, "steps_done": [], "first_touch": {}, "rules_version": rules.version,
                     "result": {}, "started_at": completed, "updated_at": completed, "completed_at": completed})
    ids = list(db.session.execute(insert(AssessmentSubmission).returning(AssessmentSubmission.id), rows).scalars())
    db.session.commit()
    return ids


def direct_outcome(rules: Rules, answers: dict[str, Any], today: date, stage: str, replied: bool) -> dict[str, Any]:
    """Top priority, safety, plan and tier from ``evaluate`` and ``score_lead`` called directly."""
    result = evaluate(rules, answers, today)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    lead = SimpleNamespace(stage=stage, replied_at=now if replied else None, needs_clinician=False)
    sub = SimpleNamespace(answers=answers, result=result.to_dict())
    tier = score_lead(rules.leads, build_facts(lead, sub, None, now)).tier
    return {"top_priority": result.priorities[0]["region"] if result.priorities else None,
            "safety": (result.safety["level"], [f["id"] for f in result.safety["fired"]]),
            "plan": [i["exercise_id"] for i in (result.plan or {}).get("items", [])],
            "tier": tier}


def expected_changes(live: Rules, draft: Rules, ids: list[int]) -> dict[int, set[str]]:
    """Submission id → the categories that differ, evaluating every stored submission directly."""
    out = {}
    rows = db.session.execute(
        select(AssessmentSubmission.id, AssessmentSubmission.answers, AssessmentSubmission.completed_at,
               Lead.stage, Lead.replied_at).outerjoin(Lead, Lead.id == AssessmentSubmission.lead_id)
        .where(AssessmentSubmission.id.in_(ids))).all()
    for row in rows:
        today = row.completed_at.astimezone(UTC).date()
        stage, replied = row.stage or "new", row.replied_at is not None
        a = direct_outcome(live, row.answers, today, stage, replied)
        b = direct_outcome(draft, row.answers, today, stage, replied)
        categories = {k for k in a if a[k] != b[k]}
        if categories:
            out[row.id] = categories
    return out
