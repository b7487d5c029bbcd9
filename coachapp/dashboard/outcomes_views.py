"""Insights → Outcomes (owner only, like Insights): which tiers, sources, priorities, flags and
answers turn into booked sessions and clients, with 95 % Wilson intervals, and the same tables as CSV.

Adapters only: ``?weeks=`` as on Insights, ``outcomes.outcomes_report`` for the numbers (pure
statistics in ``coachapp/analytics``), a template, or the CSV (formula-escaped like the leads export).
"""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, request
from flask_login import current_user

from coachapp.analytics.stats import STEP_LABELS, STEPS, VERDICTS, Z95, csv_rows
from coachapp.dashboard import bp
from coachapp.dashboard.access import require_owner
from coachapp.dashboard.leads_list import csv_safe
from coachapp.dashboard.outcomes import outcomes_report
from coachapp.dashboard.period import PERIOD_WEEKS, parse_weeks
from coachapp.models import utcnow
from coachapp.rules_store import get_rules


def _report():
    require_owner(current_user)
    weeks = parse_weeks(request.args.get("weeks"))
    return weeks, outcomes_report(get_rules(), utcnow(), weeks, current_user.time_zone or "UTC")


@bp.get("/insights/outcomes")
def insights_outcomes() -> str:
    weeks, report = _report()
    return render_template("dashboard/insights_outcomes.html", report=report, weeks=weeks,
                           period_weeks=PERIOD_WEEKS, week_labels=report.period.week_labels(),
                           steps=STEPS, step_labels=STEP_LABELS, verdicts=VERDICTS, z=Z95)


@bp.get("/insights/outcomes.csv")
def insights_outcomes_csv() -> Response:
    weeks, report = _report()
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
