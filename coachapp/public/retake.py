"""Retake from the signed link in the runner's emails: the whole assessment (stable answers
filled in) or only the self-tests. A tampered or expired link gets a page that says so and how
to start afresh (the same email links the new results to the old ones anyway), never a 500."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired
from werkzeug.wrappers import Response

from coachapp.extensions import db, limiter
from coachapp.leads import retakes, screens
from coachapp.links import retake_lead_id
from coachapp.models import Lead, utcnow
from coachapp.public import bp
from coachapp.public.forms import StartForm
from coachapp.public.views import PREFILL_KEY, START_LIMIT, TOKEN_KEY, self_tests
from coachapp.rules_store import get_rules

EXPIRED = "This retake link has expired."
INVALID = "This retake link doesn't work — it may have been copied only in part."


def _lead(signed: str) -> tuple[Lead | None, str | None, int]:
    try:
        lead_id = retake_lead_id(signed)
    except SignatureExpired:
        return None, EXPIRED, 410
    except BadSignature:
        return None, INVALID, 404
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.erased_at is not None:
        return None, INVALID, 404
    return lead, None, 200


@bp.get("/assessment/retake/<signed>")
def retake(signed: str) -> str | tuple[str, int]:
    lead, problem, status = _lead(signed)
    if lead is None:
        return render_template("public/retake.html", problem=problem, form=StartForm()), status
    latest = retakes.latest_completed(lead.id)
    tests = self_tests(get_rules())
    return render_template("public/retake.html", lead=lead, latest=latest, tests=tests,
                           signed=signed, form=StartForm(), problem=None)


@bp.post("/assessment/retake/<signed>")
@limiter.limit(START_LIMIT)
def retake_start(signed: str) -> Response | tuple[str, int]:
    lead, problem, status = _lead(signed)
    if lead is None:
        return render_template("public/retake.html", problem=problem, form=StartForm()), status
    form = StartForm()
    mode = request.form.get("mode")
    if not form.validate_on_submit() or mode not in retakes.MODES:
        return redirect(url_for(".retake", signed=signed))
    rules = get_rules()
    latest = retakes.latest_completed(lead.id)
    submission = retakes.start(rules, lead, mode, utcnow())
    db.session.commit()
    session[TOKEN_KEY] = submission.token
    if latest is not None:
        session[PREFILL_KEY] = latest.token  # the contact step knows who they are
    if mode == "tests" and latest is not None:
        step = screens.following(rules, screens.OFFER, submission.answers)
    else:
        step = screens.order(rules)[0]
    return redirect(url_for(".step", token=submission.token, step_id=step))
