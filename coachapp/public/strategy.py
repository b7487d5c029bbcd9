"""Book a Free Strategy Session: the intake form and its confirmation page."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from coachapp.emails import outbox
from coachapp.extensions import db, limiter
from coachapp.leads import brief as briefs
from coachapp.leads.assessments import by_token
from coachapp.leads.intake import (
    InvalidPhone,
    StrategyIntake,
    assessment_health_check,
    health_options,
    submit,
)
from coachapp.leads.services import InvalidEmail
from coachapp.models import AssessmentSubmission, Coach, CoachTask, Lead, StrategyRequest, utcnow
from coachapp.public import antispam, bp, sessions
from coachapp.public.forms import QuickStrategyForm, StrategySessionForm, choices
from coachapp.public.tracking import first_touch
from coachapp.rules_store import get_rules

FRESH = timedelta(days=30)  # an older assessment's safety answers are asked again


def _recent(token: str | None) -> AssessmentSubmission | None:
    """A completed assessment from the last 30 days that this form may build on."""
    submission = by_token(token) if token else None
    if submission is None or not submission.completed or submission.lead_id is None:
        return None
    completed = submission.completed_at
    if completed.tzinfo is None:
        completed = completed.replace(tzinfo=UTC)
    return submission if utcnow() - completed <= FRESH else None


def _form(linked: AssessmentSubmission | None) -> StrategySessionForm | QuickStrategyForm:
    if linked is not None:
        return QuickStrategyForm()
    form = StrategySessionForm()
    form.health_check.choices = choices(health_options(get_rules()))
    return form


def _prefill(form, token: str) -> AssessmentSubmission | None:
    """Coming from an assessment's results page: fill in what we already know."""
    submission = by_token(token)
    if submission is None or not submission.completed or submission.lead_id is None:
        return None
    lead = db.session.get(Lead, submission.lead_id)
    form.assessment_token.data = token
    form.phone.data = lead.phone
    form.time_zone.data = lead.time_zone or form.time_zone.data
    if isinstance(form, StrategySessionForm):  # older than 30 days: the long form, prefilled
        form.first_name.data = lead.first_name
        form.email.data = lead.email_display
        form.dealing_with.data = _dealing_with(submission.answers)
    return submission


def _dealing_with(answers: dict[str, Any]) -> list[str]:
    dealing = []
    if (answers.get("current_pain_nrs") or 0) >= 1:
        dealing.append("pain")
    if answers.get("injury_history") in ("recent_stopped", "recent_ran_through"):
        dealing.append("injury")  # an injury more than a year ago is history, not what they face now
    return dealing


@bp.route("/strategy-session", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def strategy_session() -> Response | str | tuple[str, int]:
    token = request.args.get("from_assessment") if request.method == "GET" else request.form.get(
        "assessment_token")
    recent = _recent(token)
    form = _form(recent)
    linked = None
    if request.method == "GET":
        form.time_zone.data = current_app.config["DEFAULT_TIME_ZONE"]
        if token:
            linked = _prefill(form, token)
        return _page(form, linked, recent)
    check = antispam.verdict(form, "strategy-session")
    if check is antispam.Verdict.BOT:
        return antispam.received_page()  # looks accepted; nothing stored, nothing sent
    valid = form.validate_on_submit()
    if valid and check is antispam.Verdict.TOO_FAST:
        return _page(form, by_token(token) if token else None, recent, notice=antispam.AGAIN)
    if valid:
        lead = db.session.get(Lead, recent.lead_id) if recent is not None else None
        intake = _intake(form, recent, lead)
        try:  # the assessment and lead read here are handed on, not read again
            outcome = submit(get_rules(), intake, first_touch(), utcnow(), linked=recent, known=lead)
        except InvalidPhone:
            form.phone.errors.append("That doesn't look like a phone number we can call.")
        except InvalidEmail:
            form.email.errors.append("That doesn't look like an email address.")
        else:
            thanks = url_for(".strategy_thanks", token=outcome.request.token)  # before the commit expires it
            outbox.commit()
            return redirect(thanks)
        db.session.rollback()
    return _page(form, by_token(token) if token else None, recent), 422


def _page(form, linked, recent, notice: str | None = None) -> str:
    lead = db.session.get(Lead, recent.lead_id) if recent is not None else None
    fields = [form[name] for name in form.FIELDS]
    antispam.stamp(form)
    return render_template("public/strategy.html", form=form, fields=fields, linked=linked, lead=lead,
                           seconds=form_seconds(fields), notice=notice)


def _intake(form, recent: AssessmentSubmission | None, lead: Lead | None) -> StrategyIntake:
    """The intake from the form; with a recent assessment (and its lead), everything else comes
    from it."""
    data: dict[str, Any] = form.data
    delivery, in_area = DELIVERY_MEANS[data["delivery"]]
    common = dict(
        goals=data["goals"], services=list(data["services"]), delivery=delivery, in_area=in_area,
        preferred_contact=data["preferred_contact"], phone=data["phone"] or None,
        time_zone=data["time_zone"], assessment_token=data["assessment_token"] or None,
    )
    if recent is None:
        return StrategyIntake(
            first_name=data["first_name"], email=data["email"], start_timing=data["start_timing"],
            dealing_with=list(data["dealing_with"] or []), health_check=list(data["health_check"] or []),
            **common,
        )
    answers = recent.answers
    race = answers.get("race_date")
    return StrategyIntake(
        first_name=lead.first_name or "", email=lead.email_display, last_name=lead.last_name,
        running_history=answers.get("years_running"), weekly_km=answers.get("weekly_km"),
        race_date=date.fromisoformat(race) if race else None,
        dealing_with=_dealing_with(answers), contact_times=list(data["contact_times"] or []),
        health_check=assessment_health_check(answers), consent_marketing=lead.consent_marketing_at is not None,
        heard_about="assessment", **common,
    )


#: The delivery choice → (delivery, in or near Austin); "either" says which side of town.
DELIVERY_MEANS = {"in_person": ("in_person", True), "online": ("online", None),
                  "either_near": ("either", True), "either_far": ("either", False)}

#: Each form field as the assessment's question type, so the "takes about N minutes" promise is
#: kept by the same time budget (rules/assessment: budget.per_type).
FIELD_TYPES = {"TextAreaField": "text", "MultiCheckboxField": "multi_select", "RadioField": "single_select",
               "SelectField": "single_select", "BooleanField": "boolean", "StringField": "text",
               "EmailField": "text", "TelField": "text"}


def form_seconds(fields) -> int:
    budget = get_rules().assessment.budget
    seconds = sum(budget.costs[FIELD_TYPES.get(f.type, "text")].seconds for f in fields)
    return round(seconds + budget.screen_seconds)


@bp.get("/strategy-session/thanks/<token>")
def strategy_thanks(token: str) -> str:
    req = db.session.execute(select(StrategyRequest).where(StrategyRequest.token == token)).scalar_one_or_none()
    if req is None:
        abort(404)
    lead = db.session.get(Lead, req.lead_id)
    coach = db.session.get(Coach, lead.owner_id) if lead.owner_id else None
    task = db.session.execute(
        select(CoachTask).where(CoachTask.lead_id == lead.id, CoachTask.kind == "first_contact")
        .order_by(CoachTask.id.desc()).limit(1)
    ).scalar_one_or_none()
    return render_template("public/strategy_thanks.html", lead=lead, request_row=req,
                           next_step=briefs.next_step(lead, req, coach, task),
                           took_assessment=req.assessment_submission_id is not None, **sessions.picker_for(lead))
