"""Working-hours arithmetic: count minutes only inside a coach's weekly working windows.

Windows are local wall-clock times in the coach's time zone (``zoneinfo``), so a 09:00–17:00
window stays 09:00–17:00 local on the days the clocks change. Durations are real elapsed time
between those local moments (a window over a skipped or repeated hour is shorter or longer).
Everything is pure: instants in and out are aware datetimes; results are in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Stop looking after this many consecutive days without any working time.
MAX_IDLE_DAYS = 400
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Window = tuple[int, int]  # (start, end) in minutes after local midnight; end may be 1440


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """A weekly pattern of working windows (Monday first) in one time zone, plus days off."""

    tz: ZoneInfo
    week: tuple[tuple[Window, ...], ...]
    days_off: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError(f"working hours need 7 days (Monday first), got {len(self.week)}")
        for day, windows in zip(DAYS, self.week, strict=True):
            for start, end in windows:
                if not 0 <= start < end <= 1440:
                    raise ValueError(
                        f"{day}: window {_hhmm(start)}-{_hhmm(end)} must start before it ends"
                    )
            ordered = sorted(windows)
            for (s1, e1), (s2, e2) in zip(ordered, ordered[1:], strict=False):
                if s2 < e1:
                    raise ValueError(
                        f"{day}: windows {_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)} overlap"
                    )
        if not any(self.week):
            raise ValueError("working hours have no windows in the whole week")

    def to_dict(self) -> dict[str, object]:
        """The ``parse_working_hours`` input that rebuilds these hours."""
        return {
            "tz": self.tz.key,
            "week": {d: [f"{_hhmm(s)}-{_hhmm(e)}" for s, e in w] for d, w in zip(DAYS, self.week, strict=True)},
            "days_off": sorted(d.isoformat() for d in self.days_off),
        }


def _parse_window(text: object, day: str) -> Window:
    match = _WINDOW.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{day}: window {text!r} must look like '09:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{day}: window {text!r} is not a valid time range")
    return h1 * 60 + m1, h2 * 60 + m2


def parse_working_hours(
    spec: Mapping[str, Iterable[str]], tz: str, days_off: Iterable[date | str] = ()
) -> WorkingHours:
    """Build WorkingHours from ``{"mon": ["09:00-12:00", "13:00-17:00"], ...}``.

    Missing days are days off. ``24:00`` may end a window. Raises ValueError naming the problem
    (unknown day, bad time, start not before end, overlapping windows, unknown time zone, no
    windows at all).
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"working hours must be a mapping of day -> windows, got {type(spec).__name__}")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    unknown = [d for d in spec if d not in DAYS]
    if unknown:
        raise ValueError(f"unknown day {unknown[0]!r} (use {', '.join(DAYS)})")
    week = []
    for day in DAYS:
        raw = spec.get(day) or []
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise ValueError(f"{day}: expected a list of windows like ['09:00-17:00']")
        week.append(tuple(sorted(_parse_window(w, day) for w in raw)))
    off = set()
    for d in days_off:
        try:
            off.add(d if isinstance(d, date) else date.fromisoformat(str(d)))
        except ValueError as exc:
            raise ValueError(f"day off {d!r} must be a date (YYYY-MM-DD)") from exc
    return WorkingHours(zone, tuple(week), frozenset(off))


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def _windows_from(hours: WorkingHours, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working windows as UTC (start, end), in order, from the local day of ``at`` onwards."""
    day = at.astimezone(hours.tz).date()
    idle = 0
    while True:
        found = False
        if day not in hours.days_off:
            midnight = datetime.combine(day, time(0), tzinfo=hours.tz)
            for start, end in hours.week[day.weekday()]:
                # Aware + timedelta is wall-clock arithmetic; converting afterwards applies the
                # offset in force at that local time (so DST days keep their local windows).
                s = (midnight + timedelta(minutes=start)).astimezone(UTC)
                e = (midnight + timedelta(minutes=end)).astimezone(UTC)
                if e > s:
                    found = True
                    yield s, e
        idle = 0 if found else idle + 1
        if idle >= MAX_IDLE_DAYS:
            raise ValueError(f"no working time in {MAX_IDLE_DAYS} consecutive days after {day}")
        day += timedelta(days=1)


def windows_between(hours: WorkingHours, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The working windows (UTC start, end) that overlap ``start``..``end``, clipped to neither."""
    begin, finish = _aware(start, "start"), _aware(end, "end")
    for win_start, win_end in _windows_from(hours, begin):
        if win_start >= finish:
            return
        if win_end > begin:
            yield win_start, win_end


def add_working_minutes(hours: WorkingHours, start: datetime, minutes: float) -> datetime:
    """The UTC moment ``minutes`` of working time after ``start``.

    A start outside working hours begins counting at the next window. Zero minutes gives the
    next working moment. Finishing exactly at a window's end returns that end.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 0:
        raise ValueError(f"minutes must be a number >= 0, got {minutes!r}")
    cursor = _aware(start, "start")
    remaining = timedelta(minutes=minutes)
    for win_start, win_end in _windows_from(hours, cursor):
        if win_end <= cursor:
            continue
        begin = max(win_start, cursor)
        if remaining <= win_end - begin:
            return begin + remaining
        remaining -= win_end - begin
    raise AssertionError("unreachable: _windows_from never ends without raising")  # pragma: no cover


def end_of_local_day(moment: datetime, tz: str) -> datetime:
    """Midnight at the end of ``moment``'s day in zone ``tz`` (aware, in that zone)."""
    local = moment.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)


def next_working_moment(hours: WorkingHours, at: datetime) -> datetime:
    """``at`` (in UTC) if it is inside a window, else the start of the next window."""
    return add_working_minutes(hours, at, 0)


def working_minutes_between(hours: WorkingHours, start: datetime, end: datetime) -> int:
    """Whole working minutes from ``start`` to ``end`` (0 if ``end`` is not later)."""
    begin, finish = _aware(start, "start"), _aware(end, "end")
    total = timedelta(0)
    if finish <= begin:
        return 0
    for win_start, win_end in _windows_from(hours, begin):
        if win_start >= finish:
            break
        overlap = min(win_end, finish) - max(win_start, begin)
        if overlap > timedelta(0):
            total += overlap
    return int(total.total_seconds() // 60)
