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
from coachapp.leads import screens
from coachapp.leads.services import Contact, InvalidEmail
from coachapp.models import AssessmentSubmission, utcnow
from coachapp.public import antispam, bp
from coachapp.public.forms import ContactForm, StartForm, StepForm
from coachapp.public.tracking import first_touch
from coachapp.rules_store import get_rules

MULTI_TYPES = {"multi_select", "checklist"}
TOKEN_KEY = "assessment_token"  # nosec B105  # the name of a session key, not a secret
PREFILL_KEY = "prefill_from"  # a completed assessment whose runner came back to add tests


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
    step_id = flow.first_incomplete_step(rules, submission)
    if step_id is None:
        step_id = screens.CONTACT if screens.OFFER in submission.steps_done else screens.OFFER
    return redirect(url_for(".step", token=token, step_id=step_id))


@bp.route("/assessment/<token>/<step_id>", methods=["GET", "POST"])
@limiter.limit(STEP_LIMIT, methods=["POST"])
def step(token: str, step_id: str) -> Response | str | tuple[str, int]:
    """One screen: a question (or left/right of a test). Saved on every Next and Back."""
    submission = _submission_or_404(token)
    if submission.completed:
        return redirect(url_for(".results", token=token))
    rules = get_rules()
    if not screens.is_step(rules, step_id):
        abort(404)
    if step_id == screens.CONTACT:
        return _contact_step(rules, submission)
    if step_id == screens.OFFER:
        return _offer_step(rules, submission)
    screen = rules.assessment.screen(step_id)
    form = StepForm()
    if request.method == "GET":
        if not screen.visible(submission.answers):  # does not apply (any more): move on
            return _go(token, screens.following(rules, step_id, submission.answers))
        saved = flow.screen_answers(rules, submission.answers, step_id)
        return _render_screen(rules, submission, screen, form, values=saved, errors={})
    if not form.validate_on_submit():
        return _render_screen(rules, submission, screen, form, values=_raw(screen), errors={},
                              notice="Your session expired. Please answer again."), 400
    nav = request.form.get("nav", "next")
    now = utcnow()
    if nav == "skip" and screen.section.optional:
        flow.save_screen(rules, submission, step_id, {}, now)
        db.session.commit()
        return _go(token, screens.following(rules, step_id, submission.answers))
    raw = _raw(screen)
    existing = flow.other_answers(rules, submission.answers, step_id)
    values, errors = clean_answers(rules.assessment, raw, screen_id=step_id, existing=existing)
    if nav == "back":
        flow.save_screen(rules, submission, step_id, values, now, done=False)
        db.session.commit()
        target = screens.previous(rules, step_id, submission.answers)
        return _go(token, target) if target else redirect(url_for(".intro"))
    if errors:
        return _render_screen(rules, submission, screen, form, values=raw, errors=errors), 422
    flow.save_screen(rules, submission, step_id, values, now)
    db.session.commit()
    if nav == "finish" and screen.section.optional:  # enough tests: straight to the plan
        return _go(token, screens.CONTACT)
    return _go(token, screens.following(rules, step_id, submission.answers))


def _go(token: str, step_id: str) -> Response:
    return redirect(url_for(".step", token=token, step_id=step_id))


def _offer_step(rules, submission: AssessmentSubmission) -> Response | str | tuple[str, int]:
    """After the core: offer the optional self-tests, one per screen, with honest times."""
    missing = flow.first_incomplete_step(rules, submission)
    if missing:
        return _go(submission.token, missing)
    form = StepForm()
    tests = self_tests(rules)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("public/offer.html", form=form, submission=submission,
                                   tests=tests), 400
        nav = request.form.get("nav", "skip")
        if nav == "back":
            target = screens.previous(rules, screens.OFFER, submission.answers)
            return _go(submission.token, target) if target else redirect(url_for(".intro"))
        flow.save_screen(rules, submission, screens.OFFER, {}, utcnow())
        db.session.commit()
        if nav == "tests":
            return _go(submission.token, screens.following(rules, screens.OFFER, submission.answers))
        return _go(submission.token, screens.CONTACT)
    return render_template("public/offer.html", form=form, submission=submission, tests=tests)


def self_tests(rules) -> list[dict[str, Any]]:
    """The optional tests in order, each once: title, minutes, first screen."""
    seen: dict[str, dict[str, Any]] = {}
    for screen in rules.assessment.screens:
        test = screen.questions[0].test
        if screen.section.optional and test and test.id not in seen:
            seen[test.id] = {"title": test.title, "minutes": test.minutes, "screen": screen.id}
    return list(seen.values())


def _contact_step(rules, submission: AssessmentSubmission) -> Response | str | tuple[str, int]:
    missing = flow.first_incomplete_step(rules, submission)
    if missing:
        return redirect(url_for(".step", token=submission.token, step_id=missing))
    form = ContactForm()
    if request.method == "GET":
        form.time_zone.data = current_app.config["DEFAULT_TIME_ZONE"]
        _prefill_contact(form)
    if request.method == "POST":
        if request.form.get("nav") == "back":
            return _go(submission.token, screens.OFFER)
        check = antispam.verdict(form, "contact")
        if check is antispam.Verdict.BOT:
            return antispam.received_page()  # looks accepted; nothing stored, nothing sent
        valid = form.validate_on_submit()
        if valid and check is antispam.Verdict.TOO_FAST:
            return _render_contact(rules, submission, form, notice=antispam.AGAIN)
        if valid:
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


@bp.get("/assessment/<token>/results")
def results(token: str) -> Response | str:
    submission = _submission_or_404(token)
    if not submission.completed:
        return redirect(url_for(".resume", token=token))
    red = submission.result["safety"]["level"] == "red"
    return render_template("public/results.html", submission=submission,
                           result=submission.result, strategy_url=_strategy_url(submission),
                           coach_name=flow.owner_first_name(submission) if red else None,
                           untested=_untested(submission), start_form=StartForm(),
                           newer=flow.newer_submission(submission))


@bp.post("/assessment/<token>/add-tests")
@limiter.limit(START_LIMIT)
def add_tests(token: str) -> Response:
    """From the results: come back and add self-tests (same runner, same lead)."""
    done = _submission_or_404(token)
    if not done.completed or not StartForm().validate_on_submit():
        return redirect(url_for(".results", token=token))
    rules = get_rules()
    submission = flow.add_tests(rules, done, utcnow())
    db.session.commit()
    session[TOKEN_KEY] = submission.token
    session[PREFILL_KEY] = done.token
    return _go(submission.token, screens.following(rules, screens.OFFER, submission.answers))


def _untested(submission: AssessmentSubmission) -> list[str]:
    """Tests that would turn an estimate into a measurement, for the results' invitation."""
    regions = (submission.result or {}).get("regions") or []
    return [r["test_name"] for r in regions if r.get("finding") is None and r.get("test_name")]


def _strategy_url(submission: AssessmentSubmission) -> str | None:
    if "public.strategy_session" in current_app.view_functions:
        return url_for(".strategy_session", from_assessment=submission.token)
    return None


def _prefill_contact(form: ContactForm) -> None:
    """Back to add self-tests: the runner already told us who they are."""
    earlier = flow.by_token(session.get(PREFILL_KEY))
    lead = flow.lead_of(earlier) if earlier is not None and earlier.completed else None
    if lead is not None:
        form.first_name.data, form.email.data = lead.first_name, lead.email_display
        form.time_zone.data = lead.time_zone or form.time_zone.data
        form.consent_marketing.data = lead.consent_marketing_at is not None


def _render_contact(rules, submission, form, notice: str | None = None) -> str:
    antispam.stamp(form)
    return render_template("public/contact.html", form=form, submission=submission, notice=notice)


def _render_screen(rules, submission, screen, form, *, values: dict[str, Any],
                   errors: dict[str, str], notice: str | None = None) -> str:
    done = screens.done_ids(submission.steps_done, rules)
    test = screen.questions[0].test if screen.section.optional else None
    tests = self_tests(rules)
    return render_template(
        "public/screen.html",
        submission=submission,
        screen=screen,
        test=test,
        test_number=next((i for i, t in enumerate(tests, 1) if t["screen"] == screen.id), 0),
        test_count=len(tests),
        values=values,
        errors=errors,
        form=form,
        notice=notice,
        progress=screens.progress(rules, screen.id, submission.answers, done),
    )


def _raw(screen) -> dict[str, Any]:
    form = request.form
    return {
        q.id: form.getlist(q.id) if q.type in MULTI_TYPES else form.get(q.id, "")
        for q in screen.questions
        if q.id in form or q.type in MULTI_TYPES
    }


def _submission_or_404(token: str) -> AssessmentSubmission:
    submission = flow.by_token(token)
    if submission is None:
        abort(404)
    return submission


def _session_submission() -> AssessmentSubmission | None:
    return flow.by_token(session.get(TOKEN_KEY))
