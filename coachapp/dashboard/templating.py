"""Dashboard template helpers: times in the signed-in coach's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_login import current_user

from coachapp.dashboard import bp


@bp.app_template_filter("coach_time")
def coach_time(moment: datetime | None) -> str:
    """'Mon 23 Nov 10:00' in the signed-in coach's time zone (UTC when signed out)."""
    if moment is None:
        return ""
    tz = getattr(current_user, "time_zone", None) or "UTC"
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


@bp.context_processor
def nav_counts() -> dict[str, object]:
    """How many leads wait on Today, for the nav (one statement per dashboard page)."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    from coachapp.dashboard.today import waiting_count
    from coachapp.models import utcnow

    return {"waiting_count": waiting_count(current_user, utcnow())}
