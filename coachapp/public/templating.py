"""Template helpers for rendering saved or submitted answers back into inputs."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from coachapp import progress_chart
from coachapp.links import external_url
from coachapp.public import bp

#: Absolute links in pages come from ``BASE_URL``, never from the request's Host header
#: (``url_for(..., _external=True)`` would echo whatever Host a client sent).
bp.add_app_template_global(external_url, "external_url")


@bp.app_template_filter("form_value")
def form_value(value: Any) -> Any:
    """Typed answer → what an input holds ("yes"/"no", "8" not "8.0", lists as-is)."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


@bp.app_template_filter("weekday")
def weekday(day: str) -> str:
    names = {"Mon": "Monday", "Tue": "Tuesday", "Wed": "Wednesday", "Thu": "Thursday",
             "Fri": "Friday", "Sat": "Saturday", "Sun": "Sunday"}
    return names.get(day, day)


@bp.app_template_filter("zone_name")
def zone_name(zone: str | None) -> str:
    """"Central Time — Chicago (UTC−6)" for an IANA id, as the forms show it."""
    from datetime import UTC, datetime

    from coachapp.public.forms import zone_label

    try:
        return zone_label(zone or "", datetime.now(UTC))
    except (KeyError, ValueError):
        return (zone or "").replace("_", " ")


@bp.app_template_filter("longdate")
def longdate(value: Any) -> str:
    """A date (or an ISO date / datetime string) as "5 December 2026"."""
    from datetime import date, datetime

    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {value.strftime('%B %Y')}"
    return "" if value is None else str(value)


@bp.app_template_filter("shortdate")
def shortdate(value: Any) -> str:
    """"5 Dec 2026": dates in narrow tables."""
    text = longdate(value)
    parts = text.split(" ")
    return f"{parts[0]} {parts[1][:3]} {parts[2]}" if len(parts) == 3 else text


@bp.app_template_global("progress_svg")
def progress_svg(test: dict[str, Any], chart_id: str) -> Markup:
    """One self-test's chart over the runner's attempts (built from escaped parts: safe)."""
    return Markup(progress_chart.chart(test, chart_id))  # nosec B704  # every text in it is escaped
