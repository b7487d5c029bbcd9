"""What a coach does to a lead from the dashboard. Services flush; views commit.

Every action lands on the lead's timeline with who did it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.leads import events, importer, triage
from coachapp.leads.services import add_event, can_see
from coachapp.models import (
    AssessmentSubmission,
    Booking,
    Coach,
    CoachTask,
    Enrollment,
    Lead,
    LeadEvent,
    LeadMerge,
    OutboxMessage,
    SequenceStep,
    StrategyRequest,
    WebhookDelivery,
)
from coachapp.rules_preview.erasure import forget_lead as forget_in_replays

NOTE_MAX = 5000


class ActionError(ValueError):
    """A request the service refuses, with a message for the coach."""


def add_note(lead: Lead, text: str, by: Coach, now: datetime) -> None:
    text = (text or "").strip()
    if not text:
        raise ActionError("Write something first.")
    if len(text) > NOTE_MAX:
        raise ActionError(f"Notes are limited to {NOTE_MAX} characters.")
    add_event(lead.id, "note", text, now, by=by.name, coach_id=by.id)


def assign(rules: Rules, lead: Lead, coach_id: int | None, by: Coach, now: datetime) -> None:
    """Give the lead to a coach (the owner: anyone; a coach: only themselves) and move its tasks."""
    if not by.is_owner and coach_id != by.id:
        raise ActionError("Coaches can take a lead themselves; only the owner assigns to others.")
    target = db.session.get(Coach, coach_id) if coach_id is not None else None
    if coach_id is not None and (target is None or not target.active):
        raise ActionError("Choose an active coach.")
    if lead.owner_id == coach_id:
        return
    lead.owner_id, lead.assigned_at = coach_id, now
    if target is not None:
        target.last_assigned_at = now
    for task in db.session.execute(
        select(CoachTask).where(CoachTask.lead_id == lead.id, CoachTask.status == "open")
    ).scalars():
        task.coach_id = coach_id
    who = target.name if target else "nobody"
    add_event(lead.id, "assignment", f"Assigned to {who} by {by.name}", now, coach_id=coach_id, by=by.name)


def change_stage(rules: Rules, lead: Lead, stage: str, by: Coach, now: datetime) -> None:
    try:
        triage.change_stage(rules, lead, stage, now, by=by.name)
    except ValueError as exc:
        raise ActionError("Choose a stage from the list.") from exc


def mark_replied(rules: Rules, lead: Lead, by: Coach, now: datetime) -> None:
    if lead.replied_at is None:
        lead.replied_at = now
        add_event(lead.id, "replied", f"Marked as replied by {by.name}", now, by=by.name)
        triage.refresh_priority(rules, lead, now)
        events.emit(events.LeadChanged(rules, lead, now))  # a reply stops the automated follow-ups


def _task_for(task_id: int, by: Coach) -> CoachTask:
    task = db.session.get(CoachTask, task_id)
    if task is None or task.status != "open":
        raise ActionError("That task is already closed.")
    lead = db.session.get(Lead, task.lead_id)
    mine = by.is_owner or task.coach_id in (None, by.id)
    if lead.erased_at is not None or not can_see(by, lead) or not mine:
        raise ActionError("That task is not yours.")
    return task


def complete_task(task_id: int, by: Coach, now: datetime) -> CoachTask:
    task = _task_for(task_id, by)
    task.status, task.completed_at = "done", now
    add_event(task.lead_id, "task", f"Done: {task.title} ({by.name})", now, task_id=task.id, by=by.name)
    if task.kind == "first_contact":  # contacted: the coach reminders stop
        from coachapp.rules_store import get_rules

        events.emit(events.LeadChanged(get_rules(), db.session.get(Lead, task.lead_id), now))
    return task


def reschedule_task(task_id: int, due: datetime, by: Coach, now: datetime) -> CoachTask:
    if due <= now:
        raise ActionError("Pick a time in the future.")
    if due > now + timedelta(days=365):
        raise ActionError("Pick a time within the next year.")
    task = _task_for(task_id, by)
    task.due_at = due
    add_event(task.lead_id, "task", f"Rescheduled by {by.name}: {task.title}", now, task_id=task.id, by=by.name,
              due=due.isoformat(timespec='minutes'))
    return task


def snooze_task(task_id: int, minutes: int, by: Coach, now: datetime) -> CoachTask:
    if minutes not in (60, 180, 1440):
        raise ActionError("Snooze for 1 hour, 3 hours or 1 day.")
    task = _task_for(task_id, by)
    return reschedule_task(task.id, max(task.due_at, now) + timedelta(minutes=minutes), by, now)


def log_call(task_id: int, outcome: str, by: Coach, now: datetime) -> CoachTask:
    """A call from Today: reached moves the lead on (and closes the task); voicemail and no
    answer try again after the working time the rules give (leads/priority.yaml tasks)."""
    from coachapp.leads import triage
    from coachapp.leads.task_rules import OUTCOMES
    from coachapp.leads.worktime import add_working_minutes
    from coachapp.rules_store import get_rules

    rules = get_rules()
    rule = rules.leads.tasks.call_outcomes.get(outcome)
    if rule is None:
        raise ActionError("Choose reached, voicemail or no answer.")
    task = _task_for(task_id, by)
    lead = db.session.get(Lead, task.lead_id)
    add_event(lead.id, "call", f"Call by {by.name}: {OUTCOMES[outcome].lower()}", now, task_id=task.id,
              outcome=outcome, by=by.name)
    if rule.stage is not None:
        task.status, task.completed_at = "done", now
        triage.change_stage(rules, lead, rule.stage, now, by=by.name)
        return task
    due = add_working_minutes(triage.working_hours_for(rules, by), start=now, minutes=rule.retry_minutes)
    task.due_at = due
    add_event(lead.id, "task", f"Call again ({OUTCOMES[outcome].lower()})", now, task_id=task.id,
              due=due.isoformat(timespec='minutes'))
    return task


def export(lead: Lead) -> dict[str, Any]:
    """Everything we hold about the person (a data-access request), as JSON-ready data."""
    def rows(model, *order):
        return db.session.execute(select(model).where(model.lead_id == lead.id).order_by(*order)).scalars()

    return {
        "lead": {
            "id": lead.id, "email": lead.email_display, "first_name": lead.first_name, "last_name": lead.last_name,
            "phone": lead.phone, "time_zone": lead.time_zone, "stage": lead.stage, "tier": lead.tier,
            "created_at": lead.created_at.isoformat(),
            "consent_health_at": lead.consent_health_at.isoformat() if lead.consent_health_at else None,
            "consent_marketing_at": lead.consent_marketing_at.isoformat() if lead.consent_marketing_at else None,
            "source": lead.source, "utm_medium": lead.utm_medium, "utm_campaign": lead.utm_campaign,
            "referrer": lead.referrer, "landing_page": lead.landing_page,
        },
        "assessments": [
            {"id": s.id, "started_at": s.started_at.isoformat(), "status": s.status,
             "completed_at": s.completed_at.isoformat() if s.completed_at else None,
             "rules_version": s.rules_version, "answers": s.answers, "result": s.result}
            for s in rows(AssessmentSubmission, AssessmentSubmission.id)
        ],
        "strategy_requests": [
            {"id": r.id, "created_at": r.created_at.isoformat(), "answers": r.answers, "time_zone": r.time_zone}
            for r in rows(StrategyRequest, StrategyRequest.id)
        ],
        "bookings": [
            {"provider": b.provider, "status": b.status, "start": b.start_at.isoformat() if b.start_at else None,
             "end": b.end_at.isoformat() if b.end_at else None, "time_zone": b.time_zone}
            for b in rows(Booking, Booking.id)
        ],
        "emails": [
            {"subject": m.subject, "status": m.status, "created_at": m.created_at.isoformat(),
             "sent_at": m.sent_at.isoformat() if m.sent_at else None, "text": m.text_body}
            for m in rows(OutboxMessage, OutboxMessage.id)
        ],
        "merged_records": [
            {"merged_lead_id": m.merged_lead_id, "email": m.merged_email, "at": m.created_at.isoformat(),
             "by": m.by_name, "choices": m.choices}
            for m in db.session.execute(select(LeadMerge).where(LeadMerge.survivor_id == lead.id)
                                        .order_by(LeadMerge.id)).scalars()
        ],
        "timeline": [
            {"at": e.created_at.isoformat(), "kind": e.kind, "summary": e.summary}
            for e in rows(LeadEvent, LeadEvent.created_at, LeadEvent.id)
        ],
    }


def erase(lead: Lead, by: Coach, now: datetime) -> None:
    """Remove the person's data; keep a minimal, anonymous audit record of the lead and the erasure."""
    if not by.is_owner:
        raise ActionError("Only the owner can erase a lead.")
    for model in (SequenceStep, Enrollment, AssessmentSubmission, StrategyRequest, OutboxMessage, CoachTask,
                  LeadEvent, Booking, WebhookDelivery):
        db.session.execute(delete(model).where(model.lead_id == lead.id))
    # merges into this lead keep only who merged what when: the merged address and values go too
    db.session.execute(update(LeadMerge).where(LeadMerge.survivor_id == lead.id).values(merged_email=None, choices={}))
    importer.forget(lead.email)  # their rows in import reports and in files not yet imported
    forget_in_replays(lead.id)  # their outcomes in rules replays (issue 15.3)
    placeholder = f"erased-{lead.id}@erased.invalid"
    for field in ("first_name", "last_name", "phone", "time_zone", "utm_medium", "utm_campaign", "utm_term",
                  "utm_content", "referrer", "landing_page", "consent_health_at", "consent_marketing_at",
                  "consent_text_version", "priority", "tier", "fit_score", "urgency_score", "engagement_score",
                  "priority_status", "top_priority", "replied_at", "owner_id", "unsubscribed_sales_at", "bounced_at"):
        setattr(lead, field, None)
    lead.email = lead.email_display = placeholder
    lead.stage, lead.needs_clinician, lead.erased_at = "lost", False, now
    add_event(lead.id, "erased", f"Personal data erased on request by {by.name}", now, by=by.name)
