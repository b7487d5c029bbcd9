"""Book a Free Strategy Session: the intake form and its confirmation page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from coachapp.emails import outbox
from coachapp.extensions import db, limiter
from coachapp.leads import brief as briefs
from coachapp.leads.assessments import by_token
from coachapp.leads.intake import InvalidPhone, StrategyIntake, health_options, submit
from coachapp.leads.services import InvalidEmail
from coachapp.models import AssessmentSubmission, Coach, CoachTask, Lead, StrategyRequest, utcnow
from coachapp.public import bp
from coachapp.public.forms import StrategySessionForm, choices
from coachapp.public.tracking import first_touch
from coachapp.rules_store import get_rules

HISTORY_FROM_ASSESSMENT = {"<1": "<1", "1-2": "1-2", "2-5": "2-5", "5+": "5+"}


def _form() -> StrategySessionForm:
    form = StrategySessionForm()
    form.health_check.choices = choices(health_options(get_rules()))
    return form


def _prefill(form: StrategySessionForm, token: str) -> AssessmentSubmission | None:
    """Coming from an assessment's results page: fill in what we already know."""
    submission = by_token(token)
    if submission is None or not submission.completed or submission.lead_id is None:
        return None
    lead = db.session.get(Lead, submission.lead_id)
    answers = submission.answers
    form.first_name.data = lead.first_name
    form.last_name.data = lead.last_name
    form.email.data = lead.email_display
    form.running_history.data = HISTORY_FROM_ASSESSMENT.get(answers.get("years_running"), "")
    if answers.get("weekly_km") is not None:
        form.weekly_km.data = int(answers["weekly_km"])
    if answers.get("race_date"):
        form.race_date.data = date.fromisoformat(answers["race_date"])
    dealing = []
    if (answers.get("current_pain_nrs") or 0) >= 1:
        dealing.append("pain")
    if answers.get("injury_history") not in (None, "none"):
        dealing.append("injury")
    form.dealing_with.data = dealing
    form.heard_about.data = "assessment"
    form.consent_marketing.data = lead.consent_marketing_at is not None
    form.assessment_token.data = token
    return submission


@bp.route("/strategy-session", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
def strategy_session() -> Response | str | tuple[str, int]:
    form = _form()
    linked = None
    if request.method == "GET":
        form.time_zone.data = current_app.config["DEFAULT_TIME_ZONE"]
        token = request.args.get("from_assessment")
        if token:
            linked = _prefill(form, token)
        return render_template("public/strategy.html", form=form, linked=linked)
    if form.validate_on_submit():
        intake = _intake(form)
        try:
            outcome = submit(get_rules(), intake, first_touch(), utcnow())
        except InvalidPhone:
            form.phone.errors.append("That doesn't look like a phone number we can call.")
        except InvalidEmail:
            form.email.errors.append("That doesn't look like an email address.")
        else:
            outbox.commit()
            return redirect(url_for(".strategy_thanks", token=outcome.request.token))
        db.session.rollback()
    return render_template("public/strategy.html", form=form, linked=linked), 422


def _intake(form: StrategySessionForm) -> StrategyIntake:
    data: dict[str, Any] = form.data
    return StrategyIntake(
        first_name=data["first_name"], last_name=data["last_name"] or None, email=data["email"],
        phone=data["phone"] or None, goals=data["goals"], running_history=data["running_history"],
        weekly_km=data["weekly_km"], race_name=data["race_name"] or None, race_date=data["race_date"],
        dealing_with=list(data["dealing_with"] or []), limitations=data["limitations"] or None,
        services=list(data["services"]), delivery=data["delivery"],
        in_area=None if not data["in_area"] else data["in_area"] == "yes",
        preferred_contact=data["preferred_contact"], contact_times=list(data["contact_times"] or []),
        time_zone=data["time_zone"], heard_about=data["heard_about"] or None,
        start_timing=data["start_timing"], health_check=list(data["health_check"] or []),
        consent_marketing=bool(data["consent_marketing"]), assessment_token=data["assessment_token"] or None,
    )


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
                           took_assessment=req.assessment_submission_id is not None)
