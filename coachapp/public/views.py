"""The Runner Assessment, one short step at a time; works without JavaScript.

Views are adapters: read the form, call the engine/services, commit, redirect.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from coachapp.assessment import clean_answers
from coachapp.emails import outbox
from coachapp.extensions import db, limiter
from coachapp.leads import assessments as flow
from coachapp.leads.services import Contact, InvalidEmail
from coachapp.models import AssessmentSubmission, utcnow
from coachapp.public import bp
from coachapp.public.forms import ContactForm, StartForm, StepForm
from coachapp.public.tracking import first_touch
from coachapp.rules_store import get_rules

MULTI_TYPES = {"multi_select", "checklist"}
TOKEN_KEY = "assessment_token"


@bp.get("/")
def home() -> str:
    return intro()


@bp.get("/assessment")
def intro() -> str:
    rules = get_rules()
    resumable = _session_submission()
    return render_template(
        "public/intro.html",
        assessment=rules.assessment,
        form=StartForm(),
        resumable=resumable if resumable and not resumable.completed else None,
    )


#: Per client address. Generous for people, tight for scripts.
START_LIMIT = "20/hour"
STEP_LIMIT = "300/hour"


@bp.post("/assessment/start")
@limiter.limit(START_LIMIT)
def start() -> Response | tuple[str, int]:
    form = StartForm()
    if not form.validate_on_submit():
        return render_template("public/intro.html", assessment=get_rules().assessment,
                               form=form, resumable=None), 400
    submission = flow.start(first_touch(), utcnow())
    db.session.commit()
    session[TOKEN_KEY] = submission.token
    return redirect(url_for(".step", token=submission.token,
                            step_id=flow.steps(get_rules())[0]))


@bp.get("/assessment/<token>")
def resume(token: str) -> Response:
    submission = _submission_or_404(token)
    session[TOKEN_KEY] = submission.token
    if submission.completed:
        return redirect(url_for(".results", token=token))
    rules = get_rules()
    step_id = flow.first_incomplete_step(rules, submission) or flow.CONTACT_STEP
    return redirect(url_for(".step", token=token, step_id=step_id))


@bp.route("/assessment/<token>/<step_id>", methods=["GET", "POST"])
@limiter.limit(STEP_LIMIT, methods=["POST"])
def step(token: str, step_id: str) -> Response | str | tuple[str, int]:
    submission = _submission_or_404(token)
    if submission.completed:
        return redirect(url_for(".results", token=token))
    rules = get_rules()
    step_ids = flow.steps(rules)
    if step_id not in step_ids:
        abort(404)
    if step_id == flow.CONTACT_STEP:
        return _contact_step(rules, submission)
    section = rules.assessment.section(step_id)
    index = step_ids.index(step_id)
    form = StepForm()
    saved = flow.section_answers(rules, submission.answers, step_id)
    if request.method == "GET":
        return _render_step(rules, submission, section, form, values=saved, errors={})

    if not form.validate_on_submit():
        return _render_step(rules, submission, section, form, values=_raw(section), errors={},
                            notice="Your session expired. Please check your answers and press Next again."), 400
    nav = request.form.get("nav", "next")
    now = utcnow()
    if nav == "skip" and section.optional:
        flow.save_step(rules, submission, step_id, {}, now)
        db.session.commit()
        return redirect(url_for(".step", token=token, step_id=step_ids[index + 1]))

    raw = _raw(section)
    existing = flow.other_answers(rules, submission.answers, step_id)
    values, errors = clean_answers(rules.assessment, raw, section_id=step_id, existing=existing)
    if nav == "back":
        flow.save_step(rules, submission, step_id, values, now, done=False)
        db.session.commit()
        target = step_ids[index - 1] if index > 0 else None
        return redirect(url_for(".step", token=token, step_id=target) if target
                        else url_for(".intro"))

    merged = {**existing, **values}
    shown = set(filter(None, request.form.get("shown", "").split(",")))
    newly_visible = [q.id for q in section.questions
                     if q.id not in shown and q.visible(merged)]
    errors = {qid: msg for qid, msg in errors.items() if qid not in newly_visible}
    if errors:
        return _render_step(rules, submission, section, form, values=raw, errors=errors,
                            answers=merged), 422
    flow.save_step(rules, submission, step_id, values, now, done=not newly_visible)
    db.session.commit()
    if newly_visible:  # follow-up questions revealed by this answer, no JavaScript needed
        return _render_step(rules, submission, section, form, values=values, errors={},
                            notice="A couple more questions about that.", revealed=newly_visible)
    return redirect(url_for(".step", token=token, step_id=step_ids[index + 1]))


def _contact_step(rules, submission: AssessmentSubmission) -> Response | str | tuple[str, int]:
    missing = flow.first_incomplete_step(rules, submission)
    if missing:
        return redirect(url_for(".step", token=submission.token, step_id=missing))
    form = ContactForm()
    if request.method == "GET":
        form.time_zone.data = current_app.config["DEFAULT_TIME_ZONE"]
    if request.method == "POST":
        if request.form.get("nav") == "back":
            return redirect(url_for(".step", token=submission.token,
                                    step_id=flow.steps(rules)[-2]))
        if form.validate_on_submit():
            contact = Contact(
                first_name=form.first_name.data.strip(),
                email=form.email.data,
                consent_health=bool(form.consent_health.data),
                consent_marketing=bool(form.consent_marketing.data),
                time_zone=form.time_zone.data,
            )
            try:
                flow.complete(rules, submission, contact, utcnow())
            except InvalidEmail:
                form.email.errors.append("That doesn't look like an email address.")
            else:
                outbox.commit()
                return redirect(url_for(".results", token=submission.token))
        return _render_contact(rules, submission, form), 422
    return _render_contact(rules, submission, form)


def _render_contact(rules, submission, form) -> str:
    step_ids = flow.steps(rules)
    return render_template("public/contact.html", form=form, submission=submission,
                           step_number=len(step_ids), step_count=len(step_ids))


@bp.get("/assessment/<token>/results")
def results(token: str) -> Response | str:
    submission = _submission_or_404(token)
    if not submission.completed:
        return redirect(url_for(".resume", token=token))
    red = submission.result["safety"]["level"] == "red"
    return render_template("public/results.html", submission=submission,
                           result=submission.result, strategy_url=_strategy_url(submission),
                           coach_name=flow.owner_first_name(submission) if red else None)


def _strategy_url(submission: AssessmentSubmission) -> str | None:
    if "public.strategy_session" in current_app.view_functions:
        return url_for(".strategy_session", from_assessment=submission.token)
    return None


def _render_step(rules, submission, section, form, *, values: dict[str, Any],
                 errors: dict[str, str], notice: str | None = None,
                 revealed: list[str] | None = None, answers: dict[str, Any] | None = None) -> str:
    """Render a step; `values` fill the inputs, clean `answers` decide what is visible."""
    step_ids = flow.steps(rules)
    index = step_ids.index(section.id)
    if answers is None:
        answers = {**flow.other_answers(rules, submission.answers, section.id), **values}
    own = {q.id for q in section.questions}
    # Follow-ups that depend only on this step's answers are rendered up front
    # (JavaScript hides them until they apply); the rest follow the saved answers.
    conditional = {q.id for q in section.questions
                   if q.show_if is not None and set(q.show_if_refs) <= own}
    visible = [q for q in section.questions
               if q.id in conditional or q.visible(answers) or q.id in errors]
    return render_template(
        "public/step.html",
        submission=submission,
        section=section,
        questions=visible,
        values=values,
        errors=errors,
        form=form,
        notice=notice,
        revealed=revealed or [],
        conditional=conditional,
        step_number=index + 1,
        step_count=len(step_ids),
    )


def _raw(section) -> dict[str, Any]:
    form = request.form
    return {
        q.id: form.getlist(q.id) if q.type in MULTI_TYPES else form.get(q.id, "")
        for q in section.questions
        if q.id in form or q.type in MULTI_TYPES
    }


def _submission_or_404(token: str) -> AssessmentSubmission:
    submission = flow.by_token(token)
    if submission is None:
        abort(404)
    return submission


def _session_submission() -> AssessmentSubmission | None:
    return flow.by_token(session.get(TOKEN_KEY))
