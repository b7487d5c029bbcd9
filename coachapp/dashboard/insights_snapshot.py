"""The Insights page's report as a snapshot: ``metrics.Report`` ⇄ plain JSON, reused for a few minutes.

Counting the funnel, drop-off, flags and first contact reads every assessment and lead of the
period (seconds at 100,000 leads: docs/benchmarks.md, "Insights at 100,000 leads"); the report
itself is a few hundred numbers. ``cached_insights_report`` stores it with ``snapshots.reuse_or_count``
under (weeks, zone, rules version) and rebuilds the dataclasses from it on each view.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from coachapp.assessment import Rules
from coachapp.dashboard.funnel import Funnel, FunnelRow
from coachapp.dashboard.metrics import CoachContact, Priorities, Report, StepCount, Tally, insights_report
from coachapp.dashboard.period import Period, period_ending
from coachapp.dashboard.snapshots import reuse_or_count


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def encode(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["period"] = {"starts": [s.isoformat() for s in report.period.starts], "end": report.period.end.isoformat(),
                      "tz": report.period.tz}
    data["funnel"]["visits_since"] = report.funnel.visits_since.isoformat() if report.funnel.visits_since else None
    return data


def decode(data: dict[str, Any]) -> Report:
    p, f = data["period"], data["funnel"]
    period = Period(starts=tuple(datetime.fromisoformat(s) for s in p["starts"]),
                    end=datetime.fromisoformat(p["end"]), tz=p["tz"])
    funnel = Funnel(totals=f["totals"], conversions=[tuple(c) for c in f["conversions"]],
                    by_week=[FunnelRow(**row) for row in f["by_week"]],
                    by_source=[FunnelRow(**row) for row in f["by_source"]],
                    visits_since=_when(f["visits_since"]), visits_cover_period=f["visits_cover_period"])
    pr = data["priorities"]
    return Report(period=period, funnel=funnel, steps=[StepCount(**s) for s in data["steps"]],
                  priorities=Priorities(completed=pr["completed"], regions=[Tally(**t) for t in pr["regions"]],
                                        flags=[Tally(**t) for t in pr["flags"]]),
                  first_contact=[CoachContact(**c) for c in data["first_contact"]])


def cached_insights_report(rules: Rules, now: datetime, weeks: int, tz: str,
                           recount: bool = False) -> tuple[Report, datetime]:
    """``(report, counted at)``: the stored report when younger than ``snapshot.minutes``, else counted now."""
    period = period_ending(now, weeks, tz)
    data, counted_at, _ = reuse_or_count(
        f"insights:{weeks}:{period.tz}:{rules.version}", now, timedelta(minutes=rules.insights.snapshot_minutes),
        period.start, lambda: encode(insights_report(rules, now, weeks, tz)), recount)
    return decode(data), counted_at
