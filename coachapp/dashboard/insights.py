"""Insights (owner only): does the funnel work? Server-side SVG charts with table fallbacks.

The view is an adapter: it parses ``?weeks=``, asks ``metrics.insights_report`` for the numbers
(in the owner's time zone, up to now; counted once and reused for a few minutes:
``insights_snapshot.py``) and turns them into inline SVG with ``svg.py``. No
JavaScript, no external assets; the charts pass a CSP without ``'unsafe-inline'`` styles.
"""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from coachapp.dashboard import bp, metrics
from coachapp.dashboard.access import require_owner
from coachapp.dashboard.funnel import OUTSIDE_LABELS, STEP_LABELS, STEPS
from coachapp.dashboard.insights_snapshot import cached_insights_report
from coachapp.dashboard.period import PERIOD_WEEKS, parse_weeks
from coachapp.dashboard.svg import NO_DATA, PALETTE, Bar, column_chart, hbar_chart
from coachapp.extensions import db
from coachapp.models import utcnow
from coachapp.rules_store import get_rules


@bp.get("/insights")
def insights() -> str:
    require_owner(current_user)
    weeks = parse_weeks(request.args.get("weeks"))
    rules = get_rules()
    # counted once, reused for rules/insights.yaml snapshot.minutes (insights_snapshot.py)
    report, counted_at = cached_insights_report(rules, utcnow(), weeks, current_user.time_zone or "UTC")
    db.session.commit()
    return render_template("dashboard/insights.html", report=report, weeks=weeks, period_weeks=PERIOD_WEEKS,
                           steps=STEPS, labels=STEP_LABELS, outside=OUTSIDE_LABELS,
                           week_labels=report.period.week_labels(), charts=charts(report),
                           counted_at=counted_at, fresh_minutes=rules.insights.snapshot_minutes)


@bp.post("/insights")
def insights_recount() -> Response:
    """Count again now, instead of showing the counts of the last few minutes."""
    require_owner(current_user)
    weeks = parse_weeks(request.form.get("weeks"))
    cached_insights_report(get_rules(), utcnow(), weeks, current_user.time_zone or "UTC", recount=True)
    db.session.commit()
    return redirect(url_for("dashboard.insights", weeks=weeks), 303)


def charts(report: metrics.Report) -> dict[str, Markup | list[Markup]]:
    """Every chart of the page as trusted markup (``svg.py`` escapes all text it is given)."""
    f = report.funnel
    notes = {b: f"{p:g}% of previous" for _, b, p in f.conversions if p is not None}
    funnel_bars = [Bar(STEP_LABELS[s], f.totals[s], notes.get(s, "")) for s in STEPS]
    weeks = [short for short, _ in report.period.week_labels()]
    sources_started = [Bar(r.label, r.counts["started"], f"{r.counts['finished']} finished")
                       for r in f.by_source if r.counts["started"]]
    requests = [Bar(r.label, r.counts["requested"] + r.counts["direct_requests"],
                    f"{r.counts['requested']} via assessment")
                for r in sorted(f.by_source, key=lambda r: -(r.counts["requested"] + r.counts["direct_requests"]))
                if r.counts["requested"] + r.counts["direct_requests"]]
    done = [Bar(s.title, s.done) for s in report.steps]
    stopped = [Bar(s.title, s.stopped) for s in report.steps]
    regions = [Bar(t.label, t.count) for t in report.priorities.regions]
    flags = [Bar(t.label, t.count) for t in report.priorities.flags]
    contact = [Bar(c.name, c.median_hours, f"{c.contacted} contacted, {c.waiting} waiting")
               for c in report.first_contact if c.median_hours is not None]
    rendered = {
        "funnel": hbar_chart("chart-funnel", "Funnel for the period", funnel_bars,
                             desc="Count at each funnel step, with its share of the step before."),
        "sources_started": hbar_chart("chart-sources-started", "Assessments started by source",
                                      sources_started, color=PALETTE[1]),
        "sources_requests": hbar_chart("chart-sources-requests", "Strategy-session requests by source",
                                       requests, color=PALETTE[1],
                                       desc="Requests after the assessment plus requests without one, by source."),
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
    out: dict[str, Markup | list[Markup]] = {
        name: Markup(svg) for name, svg in rendered.items()}  # nosec B704  # svg.py escapes every label
    out["weeks"] = [  # small multiples: one chart per funnel step, one column per ISO week
        Markup(column_chart(  # nosec B704  # svg.py escapes every label
            f"chart-weeks-{step}", STEP_LABELS[step], weeks, [row.counts[step] for row in f.by_week],
            desc=f"{STEP_LABELS[step]}, per ISO week of the period, oldest first.",
            color=PALETTE[i % len(PALETTE)]))
        for i, step in enumerate(STEPS)
    ]
    return out  # trusted: svg.py escapes every label
