"""The assessment flow around the pure engine: start, save steps, complete, purge.

Services flush; the caller commits (``outbox.commit()``) so the submission, the
lead and the outbox row become durable together, before the response.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, inspect, select

from coachapp.assessment import Rules, clean_answers, evaluate
from coachapp.emails.outbox import queue_email
from coachapp.extensions import db
from coachapp.leads import events, retakes, screens, triage
from coachapp.leads.brief import local_time
from coachapp.leads.priority import LeadPriority
from coachapp.leads.services import Contact, add_event, events_held, upsert_lead
from coachapp.links import external_url, plan_download_url, subscribe_urls
from coachapp.models import AssessmentSubmission, Coach, Lead, utcnow
from coachapp.textclean import clean_mapping

CONTACT_STEP = screens.CONTACT


@dataclass(frozen=True)
class Completion:
    submission: AssessmentSubmission
    lead: Lead
    lead_created: bool


def steps(rules: Rules) -> list[str]:
    """Step ids in order: the screens, the self-test offer, the contact step."""
    return screens.order(rules)


def by_token(token: str | None) -> AssessmentSubmission | None:
    """The submission a resume, results or prefill link points at."""
    if not token:
        return None
    return db.session.execute(
        select(AssessmentSubmission).where(AssessmentSubmission.token == token)
    ).scalar_one_or_none()


def start(first_touch: Mapping[str, Any], now: datetime, channel: str = "web",
          flush: bool = True) -> AssessmentSubmission:
    """A new submission. ``flush=False`` (the API, which completes it in the same request): it is
    written once, completed, by the flush that needs it."""
    submission = AssessmentSubmission(
        token=secrets.token_urlsafe(24),
        status="in_progress",
        channel=channel,
        answers={},
        steps_done=[],
        first_touch=clean_mapping(first_touch),  # older rows may hold control characters
        started_at=now,
        updated_at=now,
    )
    db.session.add(submission)
    if flush:
        db.session.flush()
    return submission


def screen_answers(rules: Rules, answers: Mapping[str, Any], screen_id: str) -> dict[str, Any]:
    ids = {q.id for q in rules.assessment.screen(screen_id).questions}
    return {k: v for k, v in answers.items() if k in ids}


def other_answers(rules: Rules, answers: Mapping[str, Any], screen_id: str) -> dict[str, Any]:
    ids = {q.id for q in rules.assessment.screen(screen_id).questions}
    return {k: v for k, v in answers.items() if k not in ids}


def save_screen(
    rules: Rules,
    submission: AssessmentSubmission,
    step_id: str,
    values: Mapping[str, Any],
    now: datetime,
    done: bool = True,
) -> None:
    """Replace one screen's answers (hidden questions drop out) and remember progress.

    ``steps_done`` keeps screen ids, plus each section id once all its screens are done (the
    owner's drop-off chart counts sections); ``current_step`` is the screen's section.
    """
    assessment = rules.assessment
    if assessment.has_screen(step_id):
        answers = other_answers(rules, submission.answers, step_id)
        answers.update(values)
        submission.answers = _visible_only(rules, answers)
        submission.current_step = assessment.screen(step_id).section.id
    else:
        submission.current_step = step_id
    done_list = list(submission.steps_done)
    if done and step_id not in done_list:
        done_list.append(step_id)
    finished = screens.done_ids(done_list, rules)
    done_list += [s for s in screens.sections_complete(rules, submission.answers, finished)
                  if s not in done_list]
    submission.steps_done = done_list
    submission.updated_at = now


def add_tests(rules: Rules, done: AssessmentSubmission, now: datetime) -> AssessmentSubmission:
    """Come back to add self-tests: a new submission for the same runner, the core answers
    (and any earlier tests) carried over, starting at the first self-test. It completes like
    any other (same email → same lead), so results, email and the coach's timeline follow."""
    submission = start(done.first_touch or {}, now)
    submission.answers = dict(done.answers)
    core = [s.id for s in rules.assessment.screens if not s.section.optional]
    submission.steps_done = [*core, screens.OFFER,
                             *[s.id for s in rules.assessment.sections if not s.optional]]
    submission.current_step = "self_tests"
    return submission


def newer_submission(submission: AssessmentSubmission) -> AssessmentSubmission | None:
    """The runner's latest completed assessment, when it is newer than this one."""
    if submission.lead_id is None:
        return None
    latest = triage.latest_assessment(submission.lead_id)
    return latest if latest is not None and latest.id != submission.id else None


def save_step_all(
    rules: Rules, submission: AssessmentSubmission, values: Mapping[str, Any], now: datetime
) -> None:
    """Store a whole, already-cleaned answer set (the JSON API) as if every step was done."""
    submission.answers = _visible_only(rules, dict(values))
    submission.steps_done = [section.id for section in rules.assessment.sections]
    submission.updated_at = now


def _visible_only(rules: Rules, answers: dict[str, Any]) -> dict[str, Any]:
    """Drop answers to questions that an earlier change has hidden."""
    assessment = rules.assessment
    return {k: v for k, v in answers.items() if assessment.question(k).visible(answers)}


def first_incomplete_step(rules: Rules, submission: AssessmentSubmission) -> str | None:
    """The first core screen that applies and is not done or no longer validates."""
    done = screens.done_ids(submission.steps_done, rules)
    for screen in screens.core_screens(rules, submission.answers):
        if screen.id not in done:
            return screen.id
        _, errors = clean_answers(
            rules.assessment,
            screen_answers(rules, submission.answers, screen.id),
            screen_id=screen.id,
            existing=other_answers(rules, submission.answers, screen.id),
        )
        if errors:
            return screen.id
    return None


def complete(
    rules: Rules,
    submission: AssessmentSubmission,
    contact: Contact,
    now: datetime,
) -> Completion:
    """Score, attach to the (upserted) lead, queue the result email. Flushes only."""
    # a submission not written yet (the API) is new in this transaction: so are its email's purpose
    # keys; a stored one may be completed by a concurrent request too (the key's look-up decides)
    fresh = inspect(submission).pending
    # the flush below writes the submission alone, for its id (the events and the email's purpose
    # key): the lead's events wait (held), like everything else this transaction adds (its new
    # tier, the email), for the commit's single flush, so each table gets one batched statement
    result = evaluate(rules, submission.answers, today=now.date()).to_dict()
    submission.status = "completed"
    submission.completed_at = now
    submission.updated_at = now
    submission.current_step = CONTACT_STEP
    submission.rules_version = rules.version
    submission.result = result
    submission.safety_level = result["safety"]["level"]
    priorities = result.get("priorities") or []
    submission.top_priority = priorities[0]["region"] if priorities else None
    submission.flag_ids = [flag["id"] for flag in result.get("flags") or []]
    plans: list[triage.NewLeadPlan] = []

    def prepare(draft: Lead) -> None:  # a new lead is inserted with its top priority, tier and owner
        draft.top_priority = submission.top_priority
        draft.needs_clinician = submission.safety_level == "red"
        plans.append(triage.prepare_new_lead(rules, draft, (submission, None), now))

    with events_held():
        with db.session.no_autoflush:  # the submission is written once, with its lead
            lead, created = upsert_lead(contact, submission.first_touch, now, prepare=prepare)
            if not created:  # a returning runner: one read of their attempts, then compare
                result = retakes.with_progress(rules, submission, lead.id, result, now)
        submission.lead_id = lead.id
        db.session.flush()
    lead.top_priority = submission.top_priority  # a returning runner: one UPDATE, with the tier

    labels = ", ".join(p["label"] for p in priorities) or "no clear restriction"
    add_event(lead.id, "assessment_completed",
              f"Runner Assessment completed — priorities: {labels}", now,
              submission_id=submission.id, safety=submission.safety_level)
    named = None  # the coach the runner's email names (a red flag: who will call)
    if submission.safety_level == "red":
        lead.needs_clinician = True
        reasons = "; ".join(f["reason"] for f in result["safety"]["fired"] if f["level"] == "red")
        add_event(lead.id, "red_flag", f"Red flag — clinician first: {reasons}", now,
                  submission_id=submission.id)
    # what was just built is the latest; a new lead has no strategy request yet
    latest = (submission, None if created else triage.latest_request(lead.id))
    if created:  # tier and owner went in with the INSERT
        priority = plans[0].priority
        triage.record_new_lead(lead, plans[0], now)
    else:  # new information: re-tier the lead
        priority = triage.refresh_priority(rules, lead, now, latest)
    if submission.safety_level == "red":
        named = _clinician_first(rules, lead, submission, priority, reasons, now, created, fresh)
    else:  # every lead gets an owner; the rules say which tiers also get a task now
        owner = triage.ensure_owner(rules, lead, [], None, now)
        if rules.leads.tasks.task_after_assessment(priority.tier, priority.status):
            triage.ensure_first_contact_task(rules, lead, owner, priority, now,
                                             detail="Completed the Runner Assessment.", created=created)
        retakes.record(rules, lead, owner, priority, result.get("progress"), now)
    _queue_result_email(lead, submission, result, named, fresh, created)
    # e.g. a red flag now stops sales follow-ups, and starts its own
    events.emit(events.LeadChanged(rules, lead, now, start=(
        "red_flag" if submission.safety_level == "red" else "assessment_completed",),
        latest=latest, created=created, occurred="assessment_completed"))
    return Completion(submission=submission, lead=lead, lead_created=created)


def lead_of(submission: AssessmentSubmission) -> Lead | None:
    return db.session.get(Lead, submission.lead_id) if submission.lead_id else None


def owner_first_name(submission: AssessmentSubmission) -> str | None:
    """The first name of the coach who owns the submission's lead, if any."""
    lead = lead_of(submission)
    coach = db.session.get(Coach, lead.owner_id) if lead and lead.owner_id else None
    return coach.name.split()[0] if coach else None


def _clinician_first(rules: Rules, lead: Lead, submission: AssessmentSubmission,
                     priority: LeadPriority, reasons: str, now: datetime, created: bool,
                     fresh: bool) -> Coach | None:
    """A red flag needs a human: an owner, a short-SLA personal-contact task and an email."""
    coach = triage.ensure_owner(rules, lead, [], None, now)
    task = triage.ensure_first_contact_task(
        rules, lead, coach, priority, now, detail=f"Red flag on the assessment: {reasons}",
        title="Clinician-first call", created=created)
    config = current_app.config
    zone = (coach.time_zone if coach else None) or lead.time_zone or config["DEFAULT_TIME_ZONE"]
    queue_email(
        purpose_key=f"coach-red-flag:{submission.id}", kind="coach_notification", fresh=fresh,
        to=coach.email if coach else (config["OWNER_EMAIL"] or config["MAIL_FROM"]),
        template="coach_red_flag", lead_id=lead.id, coach=coach,
        lead_name=" ".join(filter(None, [lead.first_name, lead.last_name])) or lead.email_display,
        email=lead.email_display, phone=lead.phone, reasons=reasons,
        action=priority.action,
        due=local_time(task.due_at, zone) if task else None,
        lead_url=external_url("dashboard.lead", lead_id=lead.id),
    )
    return coach


def _queue_result_email(lead: Lead, submission: AssessmentSubmission, result: dict,
                        coach: Coach | None, fresh: bool, created: bool) -> None:
    red = result["safety"]["level"] == "red"
    links = {} if red or not result.get("plan") else {
        "strategy_url": external_url("public.strategy_session", from_assessment=submission.token),
        "calendar_url": plan_download_url(submission.token),
        "subscribe_url": subscribe_urls(lead.id).webcal,
    }
    queue_email(
        purpose_key=f"assessment-result:{submission.id}", fresh=fresh, new_recipient=created,
        kind="clinician_first" if red else "assessment_plan",
        to=lead.email_display,
        template="assessment_clinician" if red else "assessment_plan",
        lead_id=lead.id,
        capped=True,
        first_name=lead.first_name,
        result=result,
        results_url=external_url("public.results", token=submission.token),
        coach_name=coach.name.split()[0] if coach else None,
        **links,
    )


def purge_abandoned(now: datetime | None = None) -> int:
    """Delete unfinished, anonymous submissions past the retention window."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["ABANDONED_RETENTION_DAYS"])
    result = db.session.execute(
        delete(AssessmentSubmission).where(
            AssessmentSubmission.status == "in_progress",
            AssessmentSubmission.lead_id.is_(None),
            AssessmentSubmission.updated_at < cutoff,
        )
    )
    db.session.commit()
    return result.rowcount
