"""Merge two leads that are one person: every row moves to the survivor, in one transaction.

* The survivor is the older lead (by ``created_at``, then id) unless the coach picks the other.
* First touch (source, UTM, referrer, landing page, ``first_touch_at``) always comes from the
  older record: a newer or anonymous record never overwrites where the person first came from.
* For each differing field (name, phone, time zone, stage, owner, consents) the coach chooses
  which record's value wins; a chosen empty value never erases the other's. A consent is kept
  only if the chosen record had it, with its original timestamp; an unsubscribe on either
  record always stands (earliest time), as does a red flag.
* Every table with a ``lead_id`` moves (``MOVED``); sequence enrollments are unique per lead and
  sequence: the survivor's is kept (the merged lead's when the survivor has none), and the
  merged lead's steps in a sequence both had are cancelled (or dropped when the survivor has
  the same step) — their emails, if any were queued, move with the outbox rows.
* The merged lead row is then deleted (nothing references it any more); the audit record in
  ``lead_merges`` keeps its id (its old URL redirects to the survivor), its email and the
  choices. Erasing the survivor also blanks those (``actions.erase``).

Concurrency: both lead rows are locked (``SELECT … FOR UPDATE`` in id order on PostgreSQL), so
two merges of the same lead run one after the other; the second finds the lead gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.leads import events, triage
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
    WebhookEvent,
)

#: field → label: the values the coach chooses between
CHOICES = {
    "first_name": "First name", "last_name": "Last name", "phone": "Phone", "time_zone": "Time zone",
    "stage": "Stage", "owner_id": "Owner", "consent_health_at": "Health-data consent",
    "consent_marketing_at": "Email opt-in",
}
FIRST_TOUCH = ("source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page",
               "first_touch_at")
#: every table holding a lead's rows by ``lead_id`` (enrollments and steps are handled apart)
MOVED = (AssessmentSubmission, StrategyRequest, CoachTask, LeadEvent, OutboxMessage, Booking, WebhookEvent,
         WebhookDelivery)


class MergeError(ValueError):
    """A merge the service refuses, with a message for the coach."""


def merged_into(lead_id: int) -> int | None:
    """The survivor a merged lead went into (following merges of merges), or None."""
    seen: set[int] = set()
    survivor = None
    while lead_id not in seen:
        seen.add(lead_id)
        row = db.session.execute(select(LeadMerge.survivor_id).where(LeadMerge.merged_lead_id == lead_id)).first()
        if row is None or row.survivor_id is None:
            break
        survivor = lead_id = row.survivor_id
    return survivor


def older_of(a: Lead, b: Lead) -> Lead:
    return min(a, b, key=lambda lead: (lead.created_at, lead.id))


def differences(a: Lead, b: Lead) -> list[str]:
    """The fields in ``CHOICES`` on which the two records differ."""
    return [field for field in CHOICES if getattr(a, field) != getattr(b, field)]


def merge(rules: Rules, survivor_id: int, merged_id: int, choices: dict[str, str], by: Coach,
          now: datetime) -> LeadMerge:
    """Fold lead ``merged_id`` into ``survivor_id``. ``choices``: field → ``"survivor"`` or
    ``"merged"`` (which record's value wins; a field not chosen keeps the survivor's value, or
    the merged record's when the survivor has none). Flushes only."""
    if survivor_id == merged_id:
        raise MergeError("A lead cannot be merged with itself.")
    found = {lead.id: lead for lead in db.session.execute(
        select(Lead).where(Lead.id.in_((survivor_id, merged_id))).order_by(Lead.id)
        .with_for_update().execution_options(populate_existing=True)).scalars()}
    survivor, merged = found.get(survivor_id), found.get(merged_id)
    if survivor is None or merged is None or survivor.erased_at or merged.erased_at:
        raise MergeError("One of these leads no longer exists (merged or erased meanwhile).")
    if not (can_see(by, survivor) and can_see(by, merged)):
        raise MergeError("You can merge only leads you can see.")
    older = older_of(survivor, merged)
    chosen = _apply_choices(survivor, merged, choices, older)
    moved = _move_rows(survivor, merged)
    audit = LeadMerge(survivor_id=survivor.id, merged_lead_id=merged.id, merged_email=merged.email_display,
                      by_id=by.id, by_name=by.name, choices=chosen, moved=moved, created_at=now)
    db.session.add(audit)
    db.session.execute(update(LeadMerge).where(LeadMerge.survivor_id == merged.id).values(survivor_id=survivor.id))
    merged_email, merged_lead_id = merged.email_display, merged.id
    db.session.delete(merged)
    db.session.flush()
    add_event(survivor.id, "merged", f"Merged with lead #{merged_lead_id} ({merged_email}) by {by.name}; first "
              f"touch kept from the {'older' if older is survivor else 'other, older'} record", now,
              by=by.name, merged_lead_id=merged_lead_id, merged_email=merged_email, choices=chosen, moved=moved)
    triage.refresh_priority(rules, survivor, now)
    events.emit(events.LeadChanged(rules, survivor, now))  # follow-ups re-plan for the merged facts
    return audit


def _apply_choices(survivor: Lead, merged: Lead, choices: dict[str, str], older: Lead) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for field in CHOICES:
        if field in choices:
            pick = merged if choices[field] == "merged" else survivor
        else:  # not chosen: the survivor's value, or the merged record's when the survivor has none
            pick = survivor if getattr(survivor, field) is not None else merged
        other = survivor if pick is merged else merged
        value = getattr(pick, field)
        if value is None and not field.startswith("consent_"):
            value = getattr(other, field)  # an empty value never erases the other's
        if field == "consent_health_at" and value is not None:
            survivor.consent_text_version = pick.consent_text_version or other.consent_text_version
        setattr(survivor, field, value)
        chosen[field] = {"from": "merged" if pick is merged else "survivor", "value": _plain(value)}
    for field in FIRST_TOUCH:
        setattr(survivor, field, getattr(older, field))
    for field in ("unsubscribed_all_at", "unsubscribed_sales_at", "replied_at"):
        times = [t for t in (getattr(survivor, field), getattr(merged, field)) if t is not None]
        setattr(survivor, field, min(times) if times else None)
    if survivor.unsubscribed_sales_at or survivor.unsubscribed_all_at:
        survivor.consent_marketing_at = None  # a stop on either record outweighs an opt-in
    survivor.needs_clinician = survivor.needs_clinician or merged.needs_clinician
    survivor.created_at = older.created_at
    return chosen


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _move_rows(survivor: Lead, merged: Lead) -> dict[str, int]:
    moved: dict[str, int] = {}
    for model in MOVED:
        result = db.session.execute(update(model).where(model.lead_id == merged.id).values(lead_id=survivor.id)
                                    .execution_options(synchronize_session=False))
        moved[model.__tablename__] = result.rowcount
    theirs = {e.sequence_id: e.id for e in db.session.execute(
        select(Enrollment).where(Enrollment.lead_id == survivor.id)).scalars()}
    dropped = cancelled = enrollments = steps = 0
    for enrollment in db.session.execute(select(Enrollment).where(Enrollment.lead_id == merged.id)).scalars().all():
        keep = theirs.get(enrollment.sequence_id)
        if keep is None:  # only the merged lead was in this sequence: its enrollment moves
            enrollment.lead_id = survivor.id
            db.session.flush()
            steps += db.session.execute(update(SequenceStep).where(SequenceStep.enrollment_id == enrollment.id)
                                        .values(lead_id=survivor.id)
                                        .execution_options(synchronize_session=False)).rowcount
            enrollments += 1
            continue
        taken = set(db.session.execute(select(SequenceStep.step_id).where(
            SequenceStep.enrollment_id == keep)).scalars())
        for step in db.session.execute(select(SequenceStep).where(
                SequenceStep.enrollment_id == enrollment.id)).scalars().all():
            if step.step_id in taken:  # the survivor has this step: the merged lead's copy goes
                db.session.delete(step)
                dropped += 1
                continue
            step.enrollment_id, step.lead_id = keep, survivor.id
            steps += 1
            if step.status in ("planned", "claimed"):
                step.status, step.reason = "cancelled", f"merged into lead #{survivor.id} (duplicate sequence)"
                cancelled += 1
        db.session.flush()
        db.session.delete(enrollment)
    db.session.flush()
    moved.update(sequence_enrollments=enrollments, sequence_steps=steps, sequence_steps_dropped=dropped,
                 sequence_steps_cancelled=cancelled)
    db.session.execute(delete(SequenceStep).where(SequenceStep.lead_id == merged.id))
    return moved
