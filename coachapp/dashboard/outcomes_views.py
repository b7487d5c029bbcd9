"""Insights → Outcomes (owner only, like Insights): which tiers, sources, priorities, flags and
answers turn into booked sessions and clients, with 95 % Wilson intervals, and the same tables as CSV.

Adapters only: ``?weeks=`` as on Insights, ``outcome_report.cached_report`` for the numbers (the
counts of the last few minutes, or counted now; pure statistics in ``coachapp/analytics``), a
template, or the CSV (formula-escaped like the leads export). "Count again now" is a POST (CSRF).
"""

from __future__ import annotations

import csv
import io

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from coachapp.analytics.stats import STEP_LABELS, STEPS, VERDICTS, OutcomeRow, Rate, csv_rows
from coachapp.dashboard import bp
from coachapp.dashboard.access import require_owner
from coachapp.dashboard.interval_svg import Whisker, interval_chart
from coachapp.dashboard.leads_list import csv_safe
from coachapp.dashboard.outcome_report import OutcomeReport, cached_report
from coachapp.dashboard.period import PERIOD_WEEKS, parse_weeks
from coachapp.extensions import db
from coachapp.models import utcnow
from coachapp.rules_store import get_rules


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def rate_html(r: Rate) -> str:
    """One rate as the page shows it: "—", "too few leads to say", or "<b>31.0%</b> (25.6%–37.0%)"."""
    if r.trials == 0:
        return '<span class="muted">—</span>'
    if r.interval is None:
        return '<span class="small too-few">too few leads to say</span>'
    return (f"<strong>{_pct(r.successes / r.trials)}</strong> <span class=\"small interval\">"
            f"({_pct(r.interval.low)}–{_pct(r.interval.high)})</span>")


def row_cells(row: OutcomeRow) -> Markup:
    """A table row's cells after its heading, built here: ~800 cells per page are too many for a
    template macro each (they cost ~20 ms of CPU per view). Only numbers and fixed words go in."""
    parts = [f'<td class="c-half" data-label="Leads">{row.counts.leads}</td>']
    for step in STEPS[1:]:
        parts.append(f'<td class="c-half" data-label="{escape(STEP_LABELS[step])}">{row.counts.get(step)}<br>'
                     f"{rate_html(row.steps[step])}</td>")
    parts.append(f'<td class="c-half" data-label="Client, % of leads">{rate_html(row.overall)}</td>')
    return Markup("".join(parts))  # nosec B704  # numbers and constant labels only, escaped above


def calibration_chart(report: OutcomeReport) -> Markup:
    """Each predicted tier's client rate with its interval, tiers in order (the table beside it has the words)."""
    rows = [Whisker(f"{c.tier or 'No tier recorded'} · {c.counts.leads} leads", c.clients.value,
                    *((c.clients.interval.low, c.clients.interval.high) if c.clients.interval else (0.0, 0.0)))
            for c in report.calibration]
    return Markup(interval_chart(  # nosec B704  # interval_svg escapes every label
        "chart-calibration", "Client rate by predicted tier, with 95% intervals", rows,
        desc="For each predicted tier in order, the share of its leads who became clients: a dot, and a line "
             "across its 95% interval. Tiers whose lines overlap cannot be told apart yet."))


def _report(weeks: int, recount: bool = False) -> OutcomeReport:
    report = cached_report(get_rules(), utcnow(), weeks, current_user.time_zone or "UTC", recount=recount)
    db.session.commit()  # the snapshot, if counted now
    return report


@bp.get("/insights/outcomes")
def insights_outcomes() -> str:
    require_owner(current_user)
    weeks = parse_weeks(request.args.get("weeks"))
    report = _report(weeks)
    return render_template("dashboard/insights_outcomes.html", report=report, weeks=weeks,
                           period_weeks=PERIOD_WEEKS, week_labels=report.period.week_labels(),
                           steps=STEPS, step_labels=STEP_LABELS, verdicts=VERDICTS,
                           fresh_minutes=get_rules().insights.snapshot_minutes, row_cells=row_cells,
                           rate_html=lambda r: Markup(rate_html(r)),  # nosec B704  # numbers only
                           calibration_chart=calibration_chart(report))


@bp.post("/insights/outcomes")
def insights_outcomes_recount() -> Response:
    """Count again now (the owner added leads or moved stages and wants to see it at once)."""
    require_owner(current_user)
    weeks = parse_weeks(request.form.get("weeks"))
    _report(weeks, recount=True)
    return redirect(url_for("dashboard.insights_outcomes", weeks=weeks), 303)


@bp.get("/insights/outcomes.csv")
def insights_outcomes_csv() -> Response:
    require_owner(current_user)
    weeks = parse_weeks(request.args.get("weeks"))
    report = _report(weeks)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([csv_safe(cell) for cell in row] for row in csv_rows(report.tables(), report.calibration))
    # The filename is built from the date and the whole number of weeks only: nothing else from the request.
    filename = f"outcomes-{utcnow():%Y-%m-%d}-last-{weeks}-weeks.csv"
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })
