"""The Insights period: the last N ISO weeks in the owner's time zone, and portable SQL to bucket by week.

One cohort everywhere: **what started in the period** (a visit, an assessment's start, a lead's
first request…), followed to *now*. Weeks are ISO weeks (Monday 00:00) in the owner's time zone;
their boundaries are computed here and bucketed in SQL with a portable ``CASE``, so the same
query runs on SQLite and PostgreSQL (no ``date_trunc``/``strftime``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Select, case, literal, select

from coachapp.models import Lead

PERIOD_WEEKS = (4, 12, 26, 52)
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class Period:
    """``weeks`` ISO weeks ending with the current one: ``starts[i]`` is week i's Monday 00:00 (aware UTC)."""

    starts: tuple[datetime, ...]
    end: datetime  # "now", exclusive
    tz: str

    @property
    def start(self) -> datetime:
        return self.starts[0]

    def week_labels(self) -> list[tuple[str, str]]:
        """``(short, long)`` per week, e.g. ``("17 Nov", "2026-W47 (from Mon 17 Nov 2026)")``."""
        out = []
        for moment in self.starts:
            local = moment.astimezone(ZoneInfo(self.tz))
            year, week, _ = local.isocalendar()
            out.append((f"{local.day} {local:%b}", f"{year}-W{week:02d} (from Mon {local.day} {local:%b %Y})"))
        return out

    def bucket(self, column: Any) -> ColumnElement[int]:
        """A portable SQL expression: the index of the week ``column`` falls in (rows are pre-filtered)."""
        whens = [(column < boundary, i) for i, boundary in enumerate(self.starts[1:])]
        return case(*whens, else_=len(self.starts) - 1) if whens else literal(0)

    def contains(self, column: Any) -> ColumnElement[bool]:
        return (column >= self.start) & (column < self.end)

    def leads(self) -> ColumnElement[bool]:
        """Leads created in the period and not erased (an erasure deletes their submissions and events)."""
        return self.contains(Lead.created_at) & Lead.erased_at.is_(None)

    def lead_ids(self) -> Select[tuple[int]]:
        """Ids of the period's leads (to narrow event and task scans)."""
        return select(Lead.id).where(self.leads())


def parse_weeks(raw: str | None) -> int:
    """``?weeks=`` → one of PERIOD_WEEKS; anything else falls back to the default."""
    try:
        weeks = int(raw or "")
    except ValueError:
        return DEFAULT_WEEKS
    return weeks if weeks in PERIOD_WEEKS else DEFAULT_WEEKS


def period_ending(now: datetime, weeks: int, tz: str = "UTC") -> Period:
    """The last ``weeks`` ISO weeks in ``tz`` (UTC if unknown) up to ``now`` (the current week is partial)."""
    try:
        zone = ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        tz, zone = "UTC", ZoneInfo("UTC")
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    starts = tuple(
        datetime.combine(monday - timedelta(weeks=weeks - 1 - i), time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))
        for i in range(weeks)
    )
    return Period(starts=starts, end=now, tz=tz)


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
