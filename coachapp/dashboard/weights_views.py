"""Insights → priority weights (owner only): the fit of the priority points to outcomes, and the
proposed ``priority.yaml`` diff as a download. Computed on each request (set-based reads and a
small logistic regression: see docs/benchmarks.md, "Priority weights fit"); nothing is applied."""

from __future__ import annotations

from datetime import date

from flask import current_app, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from coachapp.dashboard import bp
from coachapp.dashboard.access import require_owner
from coachapp.leads.weights import METHOD as FIT_METHOD
from coachapp.leads.weights import MIN_LEADS, MIN_MATCHES, MIN_PER_CLASS
from coachapp.leads.weights_diff import format_points
from coachapp.leads.weights_outcomes import DECIDED_AFTER_DAYS, WeightsReport, fit_from_outcomes, priority_yaml
from coachapp.models import utcnow
from coachapp.rules_store import get_rules


def _since() -> tuple[date | None, str]:
    """``?since=YYYY-MM-DD`` (optional): a date, or None and a notice when it is not one."""
    raw = (request.args.get("since") or "").strip()
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"“{raw[:20]}” is not a date (use YYYY-MM-DD): showing all leads."


def _pts(value: float, sign: bool = False) -> str:
    """Points as a coach reads them: a true minus sign, a plus on a change."""
    prefix = "−" if value < 0 else ("+" if sign and value > 0 else "")
    return prefix + format_points(abs(value))


def _report(since: date | None) -> WeightsReport:
    return fit_from_outcomes(get_rules(), priority_yaml(current_app.config["RULES_DIR"]), utcnow(), since)


@bp.get("/insights/weights")
def insights_weights() -> str:
    require_owner(current_user)
    since, notice = _since()
    return render_template("dashboard/insights_weights.html", report=_report(since), notice=notice,
                           method=FIT_METHOD, min_leads=MIN_LEADS, min_per_class=MIN_PER_CLASS,
                           min_matches=MIN_MATCHES, decided_days=DECIDED_AFTER_DAYS, pts=_pts)


@bp.get("/insights/weights/priority.yaml.diff")
def insights_weights_diff() -> Response:
    require_owner(current_user)
    since, _ = _since()
    report = _report(since)
    if not report.fit.enough:
        return Response(report.fit.message + "\n", status=409, mimetype="text/plain")
    if not report.diff:
        return Response("No change to propose: the suggested points equal the current ones.\n", status=409,
                        mimetype="text/plain")
    return Response(report.diff, mimetype="text/x-diff",
                    headers={"Content-Disposition": 'attachment; filename="priority.yaml.diff"'})
