"""The weekly plan as an iCalendar document (RFC 5545), for the runner's own calendar app.

One weekly recurring event per day that has exercise blocks, at 07:00 in the runner's time zone
with a VTIMEZONE (so 07:00 stays 07:00 across a daylight-saving change), for about one training
block: ``WEEKS`` weeks, or fewer when the plan's phase ends first (the race-specific plan stops
when the taper begins; the taper stops on race day). UIDs are ``<id>-<day>@<host>``, so importing
the same plan again updates its events instead of adding a second copy.

Pure: the caller passes the stored plan (``AssessmentSubmission.result["plan"]``), the zone, the
dates, the stamp and the links; no Flask, database or clock in here. A result without a plan (a
red flag: clinician first) gives a calendar with no events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration

PRODID = "-//coachapp//Running mobility plan//EN"
WEEKS = 8  # about one training block; the research's plans run in phases
STARTS_AT = time(7, 0)
MIN_MINUTES = 10  # a 2-minute event is easy to miss in a calendar
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RUNS = {"long": "long run", "quality": "quality run", "easy": "easy run"}


def plan_start(completed_at: datetime, zone: str) -> date:
    """The plan's first day: the runner's next day after the assessment."""
    return _utc(completed_at).astimezone(ZoneInfo(zone)).date() + timedelta(days=1)


def plan_end(start: date, plan: Mapping[str, Any] | None, *, race_day: date | None,
             phase_from_weeks: Mapping[str, float | None], weeks: int = WEEKS) -> date:
    """The day after the last session: ``weeks`` after ``start``, or the day the plan's phase ends.

    ``phase_from_weeks`` maps each race phase (bands of whole weeks to race day) to the weeks-out
    it starts at (None: no lower bound, i.e. the taper); a phase that is not in it (no race
    planned) does not end the plan early. A phase starting ``n`` weeks out lasts while at least
    ``n`` whole weeks are left, so it ends ``7n - 1`` days before race day; the taper ends on it.
    """
    end = start + timedelta(weeks=weeks)
    phase = ((plan or {}).get("phase") or {}).get("id")
    if race_day is None or phase not in phase_from_weeks:
        return end
    left = math.ceil(phase_from_weeks[phase] or 0)
    return min(end, race_day - timedelta(days=7 * left - 1) if left else race_day)


def plan_calendar(
    plan: Mapping[str, Any] | None,
    *,
    uid: str,
    host: str,
    zone: str,
    start: date,
    end: date,
    results_url: str,
    stamp: datetime,
    name: str = "Running mobility plan",
    method: str | None = "PUBLISH",
    refresh: timedelta | None = None,
    at: time = STARTS_AT,
) -> Calendar:
    """The plan's week from ``start`` up to (not including) ``end``.

    ``uid`` is the stable id of the plan (the submission token); ``stamp`` (the completion
    time) is every event's DTSTAMP, so the same plan always gives the same document. ``method``
    is "PUBLISH" for a one-off import and None for a subscribed feed, which gets ``refresh`` as
    its suggested polling interval.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone)
    if refresh is not None:
        cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})  # RFC 7986
        cal.add("x-published-ttl", vDuration(refresh))  # what Outlook and Apple read
    items = {item["exercise_id"]: item for item in (plan or {}).get("items") or []}
    tz = ZoneInfo(zone)
    events = 0
    for day in (plan or {}).get("week") or []:
        first = start + timedelta(days=(DAYS.index(day["day"]) - start.weekday()) % 7)
        count = math.ceil((end - first).days / 7)
        if not day.get("blocks") or count <= 0:
            continue
        cal.add_component(_event(day, items, uid=f"{uid}-{day['day'].lower()}@{host}",
                                 begin=datetime.combine(first, at, tzinfo=tz), count=count,
                                 results_url=results_url, stamp=_utc(stamp)))
        events += 1
    if events:  # VTIMEZONE from zoneinfo, covering just the plan's weeks (and a margin)
        cal.add_missing_timezones(first_date=start - timedelta(weeks=1), last_date=end + timedelta(weeks=1))
    return cal


def _event(day: Mapping[str, Any], items: Mapping[str, Mapping[str, Any]], *, uid: str, begin: datetime,
           count: int, results_url: str, stamp: datetime) -> Event:
    blocks = day["blocks"]
    minutes = sum(int(block.get("minutes") or 0) for block in blocks)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", begin)
    event.add("dtend", begin + timedelta(minutes=max(MIN_MINUTES, minutes)))
    event.add("rrule", {"freq": "weekly", "count": count})
    event.add("summary", f"Mobility: {' + '.join(_short(b['title']) for b in blocks)} ({minutes} min)")
    event.add("description", describe(day, items, results_url))
    event.add("url", results_url)
    event.add("class", "PRIVATE")  # health-related: hidden when the runner shares their calendar
    event.add("transp", "TRANSPARENT")  # a suggestion, not a busy slot
    return event


def describe(day: Mapping[str, Any], items: Mapping[str, Mapping[str, Any]], results_url: str) -> str:
    """Each block's exercises with dosage and the first cue, the day's run, and the results link."""
    parts = []
    for block in day["blocks"]:
        lines = [f"{block['title']} ({block.get('minutes') or 0} min)"]
        for exercise_id in block.get("items") or []:
            item = items.get(exercise_id)
            if item is None:
                continue
            cue = (item.get("cues") or [None])[0]
            details = [p.rstrip(". ") for p in (item.get("dosage"), cue, item.get("side_note")) if p]
            lines.append(f"- {item['name']}: {'. '.join(details)}." if details else f"- {item['name']}")
        parts.append("\n".join(lines))
    if day.get("run") in RUNS:
        parts.append(f"Run day: {RUNS[day['run']]}.")
    parts.append(f"Your plan, and why each exercise is in it: {results_url}")
    return "\n\n".join(parts)


def _short(title: str) -> str:
    """'Before your run: drills' → 'Drills' (a block title's last part, for the summary line)."""
    text = title.rsplit(": ", 1)[-1]
    return text[:1].upper() + text[1:]


def _utc(moment: datetime) -> datetime:
    """Aware UTC (stored datetimes are UTC; a naive one is read as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
