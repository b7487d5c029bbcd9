"""The Free Strategy Session intake: store, prioritise, assign, task, email.

``submit`` flushes only; the view commits with ``outbox.commit()`` so the
request, the lead, the task and both emails become durable together.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app

from coachapp.assessment import Rules, evaluate
from coachapp.emails.outbox import queue_email
from coachapp.extensions import db
from coachapp.leads import brief as briefs
from coachapp.leads import events, triage
from coachapp.leads.assessments import by_token
from coachapp.leads.priority import LeadPriority
from coachapp.leads.services import Contact, add_event, events_held, upsert_lead
from coachapp.links import external_url
from coachapp.models import SERVICES, AssessmentSubmission, Coach, CoachTask, Lead, StrategyRequest

#: Safety screen on the intake: option → the assessment answer it stands for, so the same
#: red-flag rules (rules/safety/red_flags.yaml) judge both forms.
#: The intake's safety screen: the assessment's red-flag options (rules: sf_screen), under
#: the short keys earlier requests were stored with where those differ.
INTAKE_KEYS = {"exertion_chest": "chest", "dizzy_faint": "dizzy"}
AMBER_ONLY = ("heart_bp_meds", "prior_stress_fracture")  # the coach asks these on the call


class InvalidPhone(ValueError):
    pass


@dataclass(frozen=True)
class StrategyIntake:
    first_name: str
    email: str
    goals: str
    services: list[str]
    delivery: str
    preferred_contact: str
    time_zone: str
    running_history: str | None = None
    start_timing: str | None = None
    consent_marketing: bool = False
    last_name: str | None = None
    phone: str | None = None
    weekly_km: int | None = None
    race_name: str | None = None
    race_date: date | None = None
    dealing_with: list[str] = field(default_factory=list)
    limitations: str | None = None
    in_area: bool | None = None
    contact_times: list[str] = field(default_factory=list)
    heard_about: str | None = None
    health_check: list[str] = field(default_factory=list)
    assessment_token: str | None = None


@dataclass(frozen=True)
class IntakeOutcome:
    request: StrategyRequest
    lead: Lead
    coach: Coach | None
    task: CoachTask | None
    priority: LeadPriority


def normalize_phone(raw: str | None, region: str = "US") -> str | None:
    """E.164, or None when empty; raises InvalidPhone when it cannot be a real number."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def health_options(rules: Rules) -> list[tuple[str, str]]:
    """Choices for the intake's safety screen, from the assessment's own red-flag question."""
    options = rules.assessment.question("sf_screen").options
    return [(INTAKE_KEYS.get(o.value, o.value), o.label)
            for o in options if o.value != "none" and o.value not in AMBER_ONLY]


def assessment_health_check(answers: dict[str, Any]) -> list[str]:
    """The intake's safety screen, answered by a recent assessment (not asked twice)."""
    return [INTAKE_KEYS.get(v, v) for v in answers.get("sf_screen") or []
            if v != "none" and v not in AMBER_ONLY]


def safety_of(rules: Rules, health_check: list[str], today: date) -> dict[str, Any]:
    """Run the assessment's safety rules on the intake's screen."""
    back = {short: value for value, short in INTAKE_KEYS.items()}
    screen = [back.get(key, key) for key in health_check]
    safety = evaluate(rules, {"sf_screen": screen or ["none"]}, today=today).to_dict()["safety"]
    red = [f for f in safety["fired"] if f["level"] == "red"]
    return {"level": "red" if red else "ok", "fired": red}


def submit(rules: Rules, intake: StrategyIntake, first_touch: dict[str, Any], now: datetime,
           linked: AssessmentSubmission | None = None, known: Lead | None = None) -> IntakeOutcome:
    """``linked`` and ``known``: the assessment the form came from and its lead, when the caller
    has read them already (checked against the intake's token, never trusted blindly)."""
    phone = normalize_phone(intake.phone)
    ZoneInfo(intake.time_zone)  # the form only offers valid zones; fail loudly otherwise
    if linked is None or linked.token != intake.assessment_token:
        linked, known = by_token(intake.assessment_token), None
    if linked is not None and linked.lead_id and (known is None or known.id != linked.lead_id):
        known = db.session.get(Lead, linked.lead_id)
    safety = safety_of(rules, intake.health_check, now.date())
    answers = {
        "goals": intake.goals, "running_history": intake.running_history, "weekly_km": intake.weekly_km,
        "race_name": intake.race_name, "race_date": intake.race_date.isoformat() if intake.race_date else None,
        "dealing_with": intake.dealing_with, "limitations": intake.limitations, "services": intake.services,
        "delivery": intake.delivery, "in_area": intake.in_area, "preferred_contact": intake.preferred_contact,
        "contact_times": intake.contact_times, "heard_about": intake.heard_about,
        "start_timing": intake.start_timing, "health_check": intake.health_check, "safety": safety,
        "phone": phone,
    }
    request = StrategyRequest(token=secrets.token_urlsafe(24), answers=answers, time_zone=intake.time_zone,
                              first_touch=first_touch, created_at=now)
    plans: list[triage.NewLeadPlan] = []

    def prepare(draft: Lead) -> None:  # a new lead is inserted with its tier and owner
        draft.needs_clinician = safety["level"] == "red"
        plans.append(triage.prepare_new_lead(rules, draft, (None, request), now,
                                             services=intake.services, delivery=intake.delivery))

    # the flush below writes the request alone, for its id: the lead's events wait (held) for the
    # commit's single flush, so every event of the submission goes in one batched INSERT
    with events_held():
        lead, created = upsert_lead(
            Contact(intake.first_name, intake.email, True, intake.consent_marketing, intake.time_zone,
                    last_name=intake.last_name, phone=phone),
            first_touch, now, known=known, prepare=prepare)
        # a forwarded link never ties two people together
        assessment = linked if linked is not None and linked.lead_id == lead.id else None
        request.lead_id = lead.id
        request.assessment_submission_id = assessment.id if assessment else None
        db.session.add(request)
        db.session.flush()
    wanted = ", ".join(SERVICES.get(s, "not sure yet") for s in intake.services)
    add_event(lead.id, "strategy_requested",
              f"Requested a free strategy session: {wanted} ({intake.delivery.replace('_', ' ')})", now,
              request_id=request.id, assessment_submission_id=request.assessment_submission_id)
    if safety["level"] == "red":
        lead.needs_clinician = True
        reasons = "; ".join(f["reason"] for f in safety["fired"])
        add_event(lead.id, "red_flag", f"Red flag on the intake — clinician first: {reasons}", now,
                  request_id=request.id)

    # the request just built is the latest; a new lead has no assessment
    latest = (None if created else triage.latest_assessment(lead.id), request)
    if created:  # tier and owner went in with the INSERT
        priority, coach = plans[0].priority, plans[0].coach
        triage.record_new_lead(lead, plans[0], now)
    else:
        priority = triage.refresh_priority(rules, lead, now, latest)
        coach = triage.ensure_owner(rules, lead, intake.services, intake.delivery, now)
    task = triage.ensure_first_contact_task(rules, lead, coach, priority, now, detail=intake.goals[:500],
                                            created=created)
    _queue_emails(lead, request, coach, task, priority, assessment or latest[0], now, created)
    # requesting a session stops the assessment nurture
    events.emit(events.LeadChanged(rules, lead, now, start=(
        "strategy_requested", *(("red_flag",) if safety["level"] == "red" else ())),
        latest=latest, created=created, occurred="strategy_requested"))
    return IntakeOutcome(request=request, lead=lead, coach=coach, task=task, priority=priority)


def _queue_emails(lead: Lead, request: StrategyRequest, coach: Coach | None,
                  task: CoachTask | None, priority: LeadPriority,
                  assessment: AssessmentSubmission | None, now: datetime, created: bool) -> None:
    config = current_app.config
    next_step = briefs.next_step(lead, request, coach, task)
    queue_email(
        purpose_key=f"strategy-confirmation:{request.id}", kind="strategy_confirmation", fresh=True,
        new_recipient=created,
        to=lead.email_display, template="strategy_confirmation", lead_id=lead.id, capped=True,
        first_name=lead.first_name, request=request, next_step=next_step,
        clinician_first=lead.needs_clinician,
        assessment_url=None if assessment else external_url("public.intro"),
        confirmation_url=external_url("public.strategy_thanks", token=request.token),
    )
    brief = briefs.build(lead, request, assessment, priority, coach, task, now)
    to = coach.email if coach else (config["OWNER_EMAIL"] or config["MAIL_FROM"])
    queue_email(
        purpose_key=f"coach-new-lead:{request.id}", kind="coach_notification", to=to, fresh=True,
        template="coach_new_lead", lead_id=lead.id, brief=brief, coach=coach,
    )
