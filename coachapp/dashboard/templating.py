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
