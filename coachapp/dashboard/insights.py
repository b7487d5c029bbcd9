"""Insights (owner only): does the funnel work? Server-side SVG charts with table fallbacks.

The view is an adapter: it parses ``?weeks=``, asks ``metrics.insights_report`` for the numbers
(in the owner's time zone, up to now) and turns them into inline SVG with ``svg.py``. No
JavaScript, no external assets; the charts pass a CSP without ``'unsafe-inline'`` styles.
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from markupsafe import Markup

from coachapp.dashboard import bp, metrics
from coachapp.dashboard.access import require_owner
from coachapp.dashboard.svg import NO_DATA, PALETTE, Bar, column_panels, hbar_chart
from coachapp.models import utcnow
from coachapp.rules_store import get_rules


@bp.get("/insights")
def insights() -> str:
    require_owner(current_user)
    weeks = metrics.parse_weeks(request.args.get("weeks"))
    report = metrics.insights_report(get_rules(), utcnow(), weeks, current_user.time_zone or "UTC")
    return render_template("dashboard/insights.html", report=report, weeks=weeks,
                           period_weeks=metrics.PERIOD_WEEKS, labels=metrics.STEP_LABELS,
                           week_labels=report.period.week_labels(), charts=charts(report))


def charts(report: metrics.Report) -> dict[str, Markup]:
    """Every chart of the page as trusted markup (``svg.py`` escapes all text it is given)."""
    f = report.funnel
    notes = {b: f"{p}% of previous" for _, b, p in f.conversions if p is not None}
    funnel_bars = [Bar(metrics.STEP_LABELS[s], f.totals[s], notes.get(s, "")) for s in metrics.STEPS]
    weeks = [short for short, _ in report.period.week_labels()]
    panels = [(metrics.STEP_LABELS[s], [row.counts[s] for row in f.by_week]) for s in metrics.STEPS]
    sources_leads = [Bar(r.key, r.counts["leads"], f"{r.counts['clients']} clients")
                     for r in f.by_source if r.counts["leads"]]
    sources_started = [Bar(r.key, r.counts["started"], f"{r.counts['finished']} finished")
                       for r in sorted(f.by_source, key=lambda r: -r.counts["started"]) if r.counts["started"]]
    done = [Bar(s.title, s.done) for s in report.steps]
    stopped = [Bar(s.title, s.stopped) for s in report.steps]
    regions = [Bar(t.label, t.count) for t in report.priorities.regions]
    flags = [Bar(t.label, t.count) for t in report.priorities.flags]
    contact = [Bar(c.name, c.median_hours, f"{c.contacted} contacted, {c.waiting} waiting")
               for c in report.first_contact if c.median_hours is not None]
    rendered = {
        "funnel": hbar_chart("chart-funnel", "Funnel for the period", funnel_bars,
                             desc="Count at each funnel step, with conversion from the step before."),
        "weeks": column_panels("chart-weeks", "Funnel by ISO week", weeks, panels,
                               desc="One small chart per funnel step; one column per week, oldest first."),
        "sources_leads": hbar_chart("chart-sources-leads", "Leads by source", sources_leads, color=PALETTE[1]),
        "sources_started": hbar_chart("chart-sources-started", "Assessments started by source",
                                      sources_started, color=PALETTE[1]),
        "steps_done": hbar_chart("chart-steps-done", "Assessments that completed each step", done),
        "steps_stopped": hbar_chart("chart-steps-stopped", "Where unfinished assessments stopped", stopped,
                                    color=PALETTE[4],
                                    empty="No unfinished assessments" if f.totals["started"] else NO_DATA),
        "regions": hbar_chart("chart-regions", "Top priority region of completed assessments", regions,
                              color=PALETTE[2]),
        "flags": hbar_chart("chart-flags", "Flags on completed assessments", flags, color=PALETTE[3]),
        "contact": hbar_chart("chart-contact", "Median hours to first contact, per coach", contact,
                              color=PALETTE[5], unit=" h"),
    }
    return {name: Markup(svg) for name, svg in rendered.items()}  # trusted: svg.py escapes every label
