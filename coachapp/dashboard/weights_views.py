"""Insights → Priority weights (owner only): the last fit of the priority points to outcomes, a
"Fit now" form that queues a new one for the worker, and the proposed ``priority.yaml`` diff as
a download. A fit at 100,000 leads takes ~8 s (docs/benchmarks.md), so it is never computed
in the request; the last one done is kept (``leads/weight_fits.py``). Nothing is applied."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField
from wtforms.validators import Optional

from coachapp.celery_app import send_now
from coachapp.dashboard import bp
from coachapp.extensions import db
from coachapp.leads import weight_fits
from coachapp.leads.weights import METHOD as FIT_METHOD
from coachapp.leads.weights import MIN_LEADS, MIN_MATCHES, MIN_PER_CLASS
from coachapp.leads.weights_diff import format_points
from coachapp.leads.weights_outcomes import DECIDED_AFTER_DAYS
from coachapp.models import WeightFit, utcnow
from coachapp.rules_store import get_rules


class FitForm(FlaskForm):
    since = DateField("Leads created since (optional)", validators=[Optional()],
                      description="Leave empty to fit on every lead with an outcome.")


def _since() -> tuple[date | None, str]:
    """``?since=YYYY-MM-DD`` (optional): a date, or None and a notice when it is not one."""
    raw = (request.args.get("since") or "").strip()
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"“{raw[:20]}” is not a date (use YYYY-MM-DD): showing the fit on all leads."


def _pts(value: float, sign: bool = False) -> str:
    """Points as a coach reads them: a true minus sign, a plus on a change."""
    prefix = "−" if value < 0 else ("+" if sign and value > 0 else "")
    return prefix + format_points(abs(value))


@bp.get("/insights/weights")
def insights_weights() -> str:
    since, notice = _since()
    done = weight_fits.latest_done(since, DECIDED_AFTER_DAYS)
    form = FitForm(formdata=None, since=since)
    return render_template(
        "dashboard/insights_weights.html", form=form, since=since, notice=notice, fit_row=done,
        report=weight_fits.report_of(done) if done else None, pending=weight_fits.pending(since, DECIDED_AFTER_DAYS),
        stale=done is not None and done.rules_version != get_rules().version, method=FIT_METHOD,
        min_leads=MIN_LEADS, min_per_class=MIN_PER_CLASS, min_matches=MIN_MATCHES, decided_days=DECIDED_AFTER_DAYS,
        pts=_pts)


@bp.post("/insights/weights/fit")
def insights_weights_fit() -> Response:
    form = FitForm()
    if not form.validate_on_submit():
        flash("Enter the date as YYYY-MM-DD, or leave it empty.", "error")
        return redirect(url_for(".insights_weights"))
    since = form.since.data
    fit = weight_fits.queue_fit(current_user, since, DECIDED_AFTER_DAYS, utcnow())
    db.session.commit()
    if send_now(weight_fits.FIT_TASK, fit.id):
        flash("Fitting in the background: reload this page in a minute to see the result.", "ok")
    else:
        fit.status, fit.error = "failed", "the task queue could not be reached"
        db.session.commit()
        flash("The task queue cannot be reached right now; nothing was fitted. Try again in a minute.", "error")
    return redirect(url_for(".insights_weights", since=since.isoformat() if since else None))


@bp.get("/insights/weights/priority.yaml.diff")
def insights_weights_diff() -> Response:
    since, _ = _since()
    done: WeightFit | None = weight_fits.latest_done(since, DECIDED_AFTER_DAYS)
    report = weight_fits.report_of(done) if done else None
    if report is None:
        return Response("No fit yet: press Fit now on the Priority weights page.\n", status=409,
                        mimetype="text/plain")
    if not report.fit.enough:
        return Response(report.fit.message + "\n", status=409, mimetype="text/plain")
    if done.rules_version != get_rules().version:
        return Response("The rules have changed since this fit, so its diff would not apply: fit again.\n",
                        status=409, mimetype="text/plain")
    if not report.diff:
        return Response("No change to propose: the suggested points equal the current ones.\n", status=409,
                        mimetype="text/plain")
    return Response(report.diff, mimetype="text/x-diff",
                    headers={"Content-Disposition": 'attachment; filename="priority.yaml.diff"'})
