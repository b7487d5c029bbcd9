"""Retakes: a returning runner's new assessment, compared with their earlier ones.

A retake is a new ``AssessmentSubmission`` on the same lead (the lead is upserted by email, so a
second submission, never a second lead). Starting one from the signed link in the runner's
emails prefills the stable answers (``retake_prefill`` in rules/assessment) — or, for a
self-tests-only retake, every core answer — and never a self-test measurement. Completing it
(``assessments.complete``) reads the lead's earlier attempts once, re-plans with the previous
result (a resolved priority steps down to maintenance) and stores the comparison with the result
(``result["progress"]``, built by the pure ``assessment/progress.py``). Real progress re-tiers the
lead (the ``retake_progress`` fact) and may give the owner a "you improved" task (rules).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from coachapp.assessment import Rules, evaluate
from coachapp.assessment.progress import Attempt, comparable, compare
from coachapp.extensions import db
from coachapp.leads import screens, triage
from coachapp.leads.priority import LeadPriority
from coachapp.leads.services import add_event, events_held
from coachapp.leads.worktime import add_working_minutes
from coachapp.models import AssessmentSubmission, Coach, CoachTask, Lead

MODES = ("full", "tests")
TASK_KIND = "retake_progress"


def attempts(lead_id: int, exclude_id: int | None = None) -> list[Attempt]:
    """The lead's completed assessments, oldest first, in one SELECT (nothing flushed first)."""
    query = (select(AssessmentSubmission.completed_at, AssessmentSubmission.answers, AssessmentSubmission.result)
             .where(AssessmentSubmission.lead_id == lead_id, AssessmentSubmission.status == "completed")
             .order_by(AssessmentSubmission.completed_at, AssessmentSubmission.id))
    if exclude_id is not None:
        query = query.where(AssessmentSubmission.id != exclude_id)
    with db.session.no_autoflush:
        rows = db.session.execute(query).all()
    return [Attempt(at.date().isoformat(), answers or {}, result or {}) for at, answers, result in rows if result]


def with_progress(rules: Rules, submission: AssessmentSubmission, lead_id: int, result: dict[str, Any],
                  now: datetime) -> dict[str, Any]:
    """A returning runner's result, re-planned against the previous one and carrying the
    comparison; unchanged for a first assessment or a red flag (clinician first)."""
    if not comparable(result):
        return result
    history = attempts(lead_id, exclude_id=submission.id)
    if not history:
        return result
    result = evaluate(rules, submission.answers, today=now.date(), previous=history[-1].result).to_dict()
    progress = compare(rules.assessment, [*history, Attempt(now.date().isoformat(), submission.answers, result)])
    if progress is not None:
        result["progress"] = progress
    submission.result = result
    return result


def record(rules: Rules, lead: Lead, owner: Coach | None, priority: LeadPriority,
           progress: dict[str, Any] | None, now: datetime) -> CoachTask | None:
    """The comparison on the timeline, and the "you improved" task when the rules say so."""
    if not progress:
        return None
    improved = [t["title"] for t in progress["tests"] if t["improved"]]
    summary = (f"Retake: improved beyond measurement error on {', '.join(improved)}" if improved
               else "Retake: no self-test changed beyond its measurement error")
    add_event(lead.id, "retake", summary, now, improved=len(improved),
              decreased=progress["decreased_tests"], since=progress["previous_date"])
    rule = rules.leads.tasks.retake_progress
    if rule is None or not rule.applies(len(improved), priority.tier, priority.status):
        return None
    if triage.open_tasks(lead.id, TASK_KIND):
        return None  # one at a time
    due = add_working_minutes(triage.working_hours_for(rules, owner), start=now, minutes=rule.due_working_minutes)
    name = " ".join(filter(None, [lead.first_name, lead.last_name])) or lead.email_display
    task = CoachTask(lead_id=lead.id, coach_id=owner.id if owner else None, kind=TASK_KIND,
                     title=f"{rule.title}: {name} ({priority.tier})",
                     detail=f"Improved beyond measurement error: {', '.join(improved)}.",
                     due_at=due, status="open", created_at=now)
    db.session.add(task)
    with events_held():
        db.session.flush()
    add_event(lead.id, "task", f"Task for {owner.name if owner else 'the team'}: {task.title}", now,
              task_id=task.id, due=due.isoformat(timespec="minutes"))
    return task


def latest_completed(lead_id: int) -> AssessmentSubmission | None:
    return triage.latest_assessment(lead_id)


def start(rules: Rules, lead: Lead, mode: str, now: datetime) -> AssessmentSubmission:
    """A new submission for a returning runner. ``full``: the stable answers of their latest
    assessment filled in, every screen asked again. ``tests``: all core answers kept, straight
    to the first self-test. Self-test measurements are never carried over."""
    from coachapp.leads import assessments as flow  # the flow module imports this one

    if mode not in MODES:
        raise ValueError(f"unknown retake mode {mode!r}")
    latest = latest_completed(lead.id)
    submission = flow.start((latest.first_touch if latest else None) or {}, now, channel="web")
    earlier = dict(latest.answers) if latest else {}
    assessment = rules.assessment
    optional = {q.id for s in assessment.sections if s.optional for q in s.questions}
    if mode == "full" or latest is None:
        keep = set(assessment.retake_prefill)
        submission.answers = {k: v for k, v in earlier.items() if k in keep}
        return submission
    submission.answers = {k: v for k, v in earlier.items() if k not in optional}
    core = [s.id for s in assessment.screens if not s.section.optional]
    submission.steps_done = [*core, screens.OFFER, *[s.id for s in assessment.sections if not s.optional]]
    submission.current_step = "self_tests"
    return submission
