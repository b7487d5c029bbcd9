"""Follow-up sequences in the database: enrol, (re)plan, claim due steps, re-check at send time.

Planning is pure (``policy.py``, rules in ``rules/``); this module turns plans into
``SequenceStep`` rows and rows into outbox emails. A step becomes an outbox row with the
purpose key ``sequence:<lead>:<sequence>:<step>`` (unique), so however often a step is
claimed or a sweep runs, one step is one email.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update

from coachapp.assessment import Rules
from coachapp.emails.outbox import queue_email, queued_here
from coachapp.extensions import db
from coachapp.followups import policy
from coachapp.leads import events
from coachapp.leads.events import LeadChanged
from coachapp.leads.services import add_event
from coachapp.leads.triage import latest_assessment, latest_of, working_hours_for
from coachapp.links import external_url, retake_url, unsubscribe_token
from coachapp.models import Coach, CoachTask, Enrollment, Lead, OutboxMessage, SequenceStep

logger = logging.getLogger(__name__)

#: A claim older than this is abandoned (the sweeper died) and may be taken again.
CLAIM_LEASE = timedelta(minutes=10)
NO_LONGER_APPLIES = "No longer applies."


def sequence_facts(lead: Lead, latest: events.Latest | None = None, created: bool = False) -> dict[str, Any]:
    """What the stop rules and step conditions read, from the lead as it is now.

    ``latest`` (the lead's latest assessment and request) and ``created`` (the lead is new in this
    transaction) come from a ``LeadChanged``: what the emitter just built is not read back, and a
    new lead has no finished task and no email but the ones queued in this session.
    """
    assessment, request = latest_of(lead, latest)
    priorities = ((assessment.result or {}).get("priorities") or []) if assessment else []
    if created:
        first_contact_done = False
        clinician_sent = queued_here(lead.id, "clinician_first")
    else:  # both in one round trip
        first_contact_done, clinician_sent = db.session.execute(select(
            exists().where(CoachTask.lead_id == lead.id, CoachTask.kind == "first_contact",
                           CoachTask.status == "done"),
            exists().where(OutboxMessage.lead_id == lead.id, OutboxMessage.kind == "clinician_first"),
        )).one()
    return {
        "stage": lead.stage,
        "replied": lead.replied_at is not None,
        "bounced": lead.bounced_at is not None,
        "red_flag": bool(lead.needs_clinician),
        "erased": lead.erased_at is not None,
        "unsubscribed_all": lead.unsubscribed_all_at is not None,
        "unsubscribed_sales": lead.unsubscribed_sales_at is not None,
        "marketing_consent": lead.consent_marketing_at is not None,
        "contacted": lead.stage != "new" or first_contact_done,
        "has_priorities": bool(priorities),
        "priority_count": len(priorities),
        "assessment_completed": assessment is not None,
        "strategy_requested": request is not None,
        "clinician_email_sent": clinician_sent,
    }


def _tz(lead: Lead) -> str:
    return lead.time_zone or current_app.config["DEFAULT_TIME_ZONE"]


def _coach(lead: Lead) -> Coach | None:
    return db.session.get(Coach, lead.owner_id) if lead.owner_id else None


def _enrollments(lead: Lead, created: bool) -> dict[str, Enrollment]:
    """The lead's enrollments by sequence, in one read (none for a lead created just now)."""
    if created:
        return {}
    return {e.sequence_id: e for e in db.session.execute(
        select(Enrollment).where(Enrollment.lead_id == lead.id).order_by(Enrollment.id)).scalars()}


def _steps(enrollments: list[Enrollment]) -> dict[int, dict[str, SequenceStep]]:
    """The step rows of these enrollments, in one read."""
    rows: dict[int, dict[str, SequenceStep]] = {e.id: {} for e in enrollments}
    if enrollments:
        for step in db.session.execute(
                select(SequenceStep).where(SequenceStep.enrollment_id.in_(list(rows)))).scalars():
            rows[step.enrollment_id][step.step_id] = step
    return rows


def enroll(rules: Rules, lead: Lead, trigger: str, now: datetime, facts: dict[str, Any] | None = None,
           enrollments: dict[str, Enrollment] | None = None) -> list[SequenceStep]:
    """Start (or restart) every sequence for ``trigger`` and plan its steps."""
    created: list[SequenceStep] = []
    facts = facts if facts is not None else sequence_facts(lead)
    enrollments = enrollments if enrollments is not None else _enrollments(lead, created=False)
    for sequence in policy.sequences_for(rules.sequences, trigger):
        enrollment = enrollments.get(sequence.id)
        existing: dict[str, SequenceStep] | None = None
        if enrollment is None:
            enrollment = Enrollment(lead_id=lead.id, sequence_id=sequence.id, status="active", enrolled_at=now)
            enrollments[sequence.id] = enrollment
            existing = {}  # nothing planned yet: no read, and the rows go in with the enrollment
            add_event(lead.id, "sequence", f"Started follow-up sequence '{sequence.id}'", now, sequence=sequence.id)
        elif enrollment.status in ("stopped", "completed"):
            continue  # a stopped sequence stays stopped; a coach can restart it by hand
        else:
            enrollment.enrolled_at = now  # a new submission re-plans from now
        created += _plan(rules, lead, enrollment, sequence, facts, now, existing)
    return created


def _plan(rules: Rules, lead: Lead, enrollment: Enrollment, sequence, facts: dict[str, Any],
          now: datetime, existing: dict[str, SequenceStep] | None = None) -> list[SequenceStep]:
    """Bring the planned rows in line with the plan: add new steps, move or cancel planned ones.
    ``existing``: the enrollment's rows by step id, when the caller has read them already."""
    reason = policy.stop_reason(rules.sequences, sequence, facts)
    if existing is None:
        existing = _steps([enrollment])[enrollment.id]
    if reason is not None:
        _cancel(lead, existing.values(), reason, now)
        enrollment.status, enrollment.reason = "stopped", reason
        return []
    coach = _coach(lead)
    hours = working_hours_for(rules, coach) if sequence.audience == "coach" else None
    sent = {sid: r.updated_at for sid, r in existing.items() if r.status == "queued"}
    planned = policy.plan(sequence, enrolled_at=enrollment.enrolled_at, tz=_tz(lead), facts=facts,
                          coach_hours=hours, sent=sent, not_before=now)
    wanted = {p.step_id for p in planned}
    added: list[SequenceStep] = []
    for step in planned:
        row = existing.get(step.step_id)
        if row is None:
            row = SequenceStep(enrollment=enrollment, lead_id=lead.id, sequence_id=sequence.id,
                               step_id=step.step_id, template=step.template, audience=sequence.audience,
                               due_at=step.due_at, status="planned", created_at=now)
            db.session.add(row)
            added.append(row)
        elif row.status == "planned":
            row.due_at = step.due_at
        elif row.status == "cancelled" and row.reason == NO_LONGER_APPLIES:
            row.status, row.reason, row.due_at = "planned", None, step.due_at  # applies again
    _cancel(lead, [r for sid, r in existing.items() if sid not in wanted and sid not in sent], NO_LONGER_APPLIES, now)
    return added  # added to the session: the caller's flush (or commit) writes them in one go


def _cancel(lead: Lead, rows, reason: str, now: datetime) -> None:
    for row in rows:
        if row.status in ("planned", "claimed"):
            row.status, row.reason = "cancelled", reason
            add_event(lead.id, "sequence", f"Cancelled '{row.sequence_id}/{row.step_id}': {reason}", now,
                      step_id=row.id)


def replan(rules: Rules, lead: Lead, now: datetime, facts: dict[str, Any] | None = None,
           enrollments: dict[str, Enrollment] | None = None) -> None:
    """After a stage change, a new submission or an unsubscribe: re-plan what has not been sent."""
    enrollments = enrollments if enrollments is not None else _enrollments(lead, created=False)
    active = [e for e in enrollments.values() if e.status == "active"]
    if not active:
        return
    facts = facts if facts is not None else sequence_facts(lead)
    steps = _steps(active)
    for enrollment in active:
        sequence = policy.sequence_by_id(rules.sequences, enrollment.sequence_id)
        if sequence is not None:
            _plan(rules, lead, enrollment, sequence, facts, now, steps[enrollment.id])


def on_lead_changed(event: LeadChanged) -> None:
    """A lead changed: re-plan what has not been sent, then start the sequences it triggers.
    The facts and the enrollments are read once for both (none at all for a new lead)."""
    facts = sequence_facts(event.lead, event.latest, event.created)
    enrollments = _enrollments(event.lead, event.created)
    replan(event.rules, event.lead, event.now, facts, enrollments)
    for trigger in event.start:
        enroll(event.rules, event.lead, trigger, event.now, facts, enrollments)


def set_enrollment(rules: Rules, lead: Lead, sequence_id: str, status: str, by: str, now: datetime) -> None:
    """A coach pauses, resumes or stops a lead's sequence."""
    enrollment = db.session.execute(
        select(Enrollment).where(Enrollment.lead_id == lead.id, Enrollment.sequence_id == sequence_id)
    ).scalar_one_or_none()
    if enrollment is None or status not in ("active", "paused", "stopped"):
        raise ValueError("Unknown sequence or status.")
    if enrollment.status == "stopped":
        raise ValueError("A stopped sequence cannot be restarted.")
    enrollment.status, enrollment.reason = status, f"{status} by {by}"
    add_event(lead.id, "sequence", f"Sequence '{sequence_id}' {status} by {by}", now, sequence=sequence_id)
    rows = db.session.execute(select(SequenceStep).where(SequenceStep.enrollment_id == enrollment.id,
                                                          SequenceStep.status == "planned")).scalars()
    if status == "stopped":
        _cancel(lead, rows, f"Stopped by {by}.", now)
    elif status == "active":
        sequence = policy.sequence_by_id(rules.sequences, sequence_id)
        _plan(rules, lead, enrollment, sequence, sequence_facts(lead), now)


def unsubscribe(rules: Rules, lead: Lead, scope: str, now: datetime, via: str) -> None:
    """Takes effect immediately: the remaining steps are re-checked and cancelled with the reason."""
    if scope == "all" and lead.unsubscribed_all_at is None:
        lead.unsubscribed_all_at = now
    if lead.unsubscribed_sales_at is None:
        lead.unsubscribed_sales_at = now
    if lead.consent_marketing_at is not None:
        lead.consent_marketing_at = None
    what = "all emails" if scope == "all" else "tips and offers"
    add_event(lead.id, "unsubscribed", f"Unsubscribed from {what} ({via})", now, scope=scope, via=via)
    replan(rules, lead, now)


def claim_due(now: datetime, limit: int = 200) -> list[int]:
    """Take due steps for this sweeper only. PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so concurrent
    sweepers never wait on or double-take a row; SQLite serialises writers, and the conditional
    UPDATE below makes the claim atomic there too."""
    due = and_(SequenceStep.due_at <= now, or_(
        SequenceStep.status == "planned",
        and_(SequenceStep.status == "claimed", SequenceStep.claimed_at < now - CLAIM_LEASE)))
    active = select(Enrollment.id).where(Enrollment.status == "active")
    query = (select(SequenceStep.id).where(due, SequenceStep.enrollment_id.in_(active))
             .order_by(SequenceStep.due_at).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.execute(query).scalars())
    claimed: list[int] = []
    for step_id in ids:
        result = db.session.execute(update(SequenceStep).where(SequenceStep.id == step_id, due)
                                    .values(status="claimed", claimed_at=now))
        if result.rowcount == 1:
            claimed.append(step_id)
    db.session.commit()
    return claimed


def send_step(rules: Rules, step_id: int, now: datetime) -> str:
    """Re-check eligibility at send time, then hand the email to the outbox (flushes only)."""
    row = db.session.get(SequenceStep, step_id)
    if row is None or row.status != "claimed":
        return "skipped"
    lead = db.session.get(Lead, row.lead_id)
    enrollment = db.session.get(Enrollment, row.enrollment_id)
    sequence = policy.sequence_by_id(rules.sequences, row.sequence_id)
    facts = sequence_facts(lead)
    reason = None
    if enrollment.status == "paused":  # paused after the claim: wait for "resume"
        row.status, row.claimed_at = "planned", None
        return "deferred"
    if sequence is None:
        reason = "The sequence no longer exists in the rules."
    elif enrollment.status != "active":
        reason = f"Sequence {enrollment.status}."
    else:
        reason = policy.stop_reason(rules.sequences, sequence, facts)
        step = policy.step_by_id(sequence, row.step_id)
        if reason is None and (step is None or not policy.step_applies(step, facts)):
            reason = NO_LONGER_APPLIES
    if reason is not None:
        _cancel(lead, [row], reason, now)
        if enrollment.status == "active" and reason != NO_LONGER_APPLIES:
            enrollment.status, enrollment.reason = "stopped", reason
        return "cancelled"
    if sequence.audience == "prospect":
        window_start = policy.next_in_window(sequence.window, now, _tz(lead))
        if window_start > now:  # e.g. resumed at night: wait for the lead's daytime
            row.status, row.due_at, row.claimed_at = "planned", window_start, None
            return "deferred"
    message = _queue(rules, lead, row, sequence)
    row.status, row.outbox_id = "queued", message.id if message is not None else None
    if message is None:
        row.status, row.reason = "cancelled", "Per-recipient daily cap reached."
    return row.status


def _queue(rules: Rules, lead: Lead, row: SequenceStep, sequence) -> OutboxMessage | None:
    config = current_app.config
    assessment = latest_assessment(lead.id)
    if sequence.audience == "coach":
        coach = _coach(lead)
        to = coach.email if coach else (config["OWNER_EMAIL"] or config["MAIL_FROM"])
        return queue_email(purpose_key=f"sequence:{lead.id}:{row.sequence_id}:{row.step_id}",
                           kind=f"sequence:{row.sequence_id}", to=to, template=row.template, lead_id=lead.id,
                           lead=lead, coach=coach, lead_url=external_url("dashboard.lead", lead_id=lead.id))
    unsubscribe_url = external_url("public.unsubscribe_page", token=unsubscribe_token(lead.id))
    headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return queue_email(
        purpose_key=f"sequence:{lead.id}:{row.sequence_id}:{row.step_id}", kind=f"sequence:{row.sequence_id}",
        to=lead.email_display, template=row.template, lead_id=lead.id, headers=headers, capped=True,
        first_name=lead.first_name, result=assessment.result if assessment else None,
        unsubscribe_url=unsubscribe_url, marketing=sequence.marketing,
        results_url=external_url("public.results", token=assessment.token) if assessment else None,
        strategy_url=external_url("public.strategy_session")
        + (f"?from_assessment={assessment.token}" if assessment else ""),
        assessment_url=external_url("public.intro"),
        retake_url=retake_url(lead.id),  # signed: same lead, stable answers filled in
    )


def sweep(rules: Rules, now: datetime, limit: int = 200) -> dict[str, int]:
    """Claim and process due steps; each step commits on its own so one failure loses nothing."""
    from coachapp.emails import outbox

    counts: dict[str, int] = {}
    for step_id in claim_due(now, limit):
        try:
            status = send_step(rules, step_id, now)
            outbox.commit()
        except Exception:  # leave it claimed: the lease hands it to a later sweep
            db.session.rollback()
            logger.exception("Sequence step %s failed; it will be retried after the lease", step_id)
            status = "error"
        counts[status] = counts.get(status, 0) + 1
    return counts
