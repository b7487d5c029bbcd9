"""Free call slots for a strategy session (rules/booking.yaml). Pure: no Flask, database or clock.

A slot is ``slot.minutes`` long and starts on the grid of a working window (the window's start,
then every ``slot.minutes``), so two people looking at the same coach see the same start times —
which is what lets the database's unique (coach, start) prove there is no double booking. A slot
is free when it lies inside one working window of the coach (their zone, DST-correct through
``worktime``), starts at least ``minimum_notice`` from now, on a local day no further than
``days_ahead`` from today, and keeps ``buffer`` minutes clear of every busy interval (a booking
from any provider). Slots are aware UTC; ``by_day`` groups them for the prospect's own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coachapp.assessment._schema import Issues, Node, file_header, judgement
from coachapp.leads.worktime import WorkingHours, next_working_moment, windows_between

PICKING = {True: True, False: False, "on": True, "off": False}


@dataclass(frozen=True, slots=True)
class BookingRules:
    slot_picking: bool = True
    slot_minutes: int = 30
    buffer_minutes: int = 15
    notice_minutes: int = 240
    days_ahead: int = 14
    remind_day_before: timedelta = timedelta(hours=24)
    remind_hour_before: timedelta = timedelta(hours=1)
    remind_window: str = "every_day"  # a send window of rules/sequences.yaml, in the runner's zone

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)


def _amount(head: Node, key: str, unit: str, low: float, high: float) -> float | None:
    node = Node(head.raw(key), key, head.issues, (unit, "coach_judgement"))
    if not node.ok:
        return None
    judgement(node, ())
    value = node.num(unit)
    if value is None or not low <= value <= high:
        head.issues.add(key, f"'{unit}' must be a number from {low:g} to {high:g}, got {node.raw(unit)!r}")
        return None
    return value


def load_booking_rules(data: Any, issues: Issues, windows: Iterable[str] = ("every_day",)) -> BookingRules:
    """Validate ``rules/booking.yaml``; every problem names its field. ``windows``: the send
    windows of ``sequences.yaml`` the day-before reminder may wait for."""
    head = file_header(data, issues, ("slot_picking", "slot", "buffer", "minimum_notice", "days_ahead", "reminders"))
    if not head.ok:
        return BookingRules()
    raw = head.raw("slot_picking")
    picking = PICKING.get(raw.lower() if isinstance(raw, str) else raw)
    if picking is None:
        issues.add("slot_picking", f"must be on or off, got {raw!r}")
    slot = _amount(head, "slot", "minutes", 10, 240)
    buffer = _amount(head, "buffer", "minutes", 0, 240)
    notice = _amount(head, "minimum_notice", "hours", 0, 24 * 14)
    ahead = _amount(head, "days_ahead", "days", 1, 90)
    reminders = Node(head.raw("reminders"), "reminders", issues,
                     ("day_before_hours", "hour_before_hours", "window", "coach_judgement"))
    day = hour = None
    if reminders.ok:
        judgement(reminders, ())
        day, hour = reminders.num("day_before_hours"), reminders.num("hour_before_hours")
        if day is None or hour is None or not 0 < hour < day <= 72:
            issues.add("reminders", "need 0 < hour_before_hours < day_before_hours <= 72")
        known = tuple(windows)
        if reminders.str("window") not in known:
            issues.add("reminders", f"unknown window {reminders.raw('window')!r} (use one of sequences.yaml's: "
                       f"{', '.join(known)})")
    if slot is not None and slot != int(slot):
        issues.add("slot", "'minutes' must be whole minutes")
    if ahead is not None and ahead != int(ahead):
        issues.add("days_ahead", "'days' must be whole days")
    if None in (picking, slot, buffer, notice, ahead, day, hour) or not head.ok:
        return BookingRules()
    return BookingRules(bool(picking), int(slot), int(buffer), int(notice * 60), int(ahead),
                        timedelta(hours=day), timedelta(hours=hour), reminders.str("window") or "")


def reminder_due(start: datetime, changed_at: datetime, now: datetime, rules: BookingRules,
                 window: WorkingHours) -> str | None:
    """Which reminder is due now for a session at ``start`` last booked or moved at ``changed_at``:
    ``"hour"`` (``hour_before`` ahead, whatever the hour: the call is imminent), ``"day"`` (from
    ``day_before`` ahead, inside the runner's daytime ``window``, until the hour one takes over;
    not for a session booked less than ``day_before`` ahead: its confirmation just went) or None."""
    start, now = _utc(start), _utc(now)
    if now >= start:
        return None
    if start - now <= rules.remind_hour_before:
        return "hour"
    opens = start - rules.remind_day_before
    if _utc(changed_at) >= opens or now < next_working_moment(window, opens):
        return None
    return "day" if next_working_moment(window, now) == now else None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("aware datetimes only")
    return moment.astimezone(UTC)


def horizon(hours: WorkingHours, rules: BookingRules, now: datetime) -> datetime:
    """The end of the last bookable local day (the coach's zone): today + ``days_ahead``."""
    last = _utc(now).astimezone(hours.tz).date() + timedelta(days=rules.days_ahead)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=hours.tz).astimezone(UTC)


def free_slots(hours: WorkingHours, busy: Iterable[tuple[datetime, datetime]], rules: BookingRules,
               now: datetime) -> list[datetime]:
    """Every free slot start (aware UTC), in order."""
    earliest = _utc(now) + timedelta(minutes=rules.notice_minutes)
    until = horizon(hours, rules, now)
    pad = timedelta(minutes=rules.buffer_minutes)
    blocked = sorted((_utc(s) - pad, _utc(e) + pad) for s, e in busy)
    out = []
    for win_start, win_end in windows_between(hours, _utc(now), until):
        start = win_start
        while start + rules.slot <= win_end:
            end = start + rules.slot
            if start >= earliest and not any(b0 < end and start < b1 for b0, b1 in blocked):
                out.append(start)
            start = end
    return out


def is_free(start: datetime, hours: WorkingHours, busy: Iterable[tuple[datetime, datetime]],
            rules: BookingRules, now: datetime) -> bool:
    return _utc(start) in free_slots(hours, busy, rules, now)


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # aware UTC: the value the form posts back
    label: str  # "9:30 am" in the prospect's zone

    @property
    def value(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    label: str  # "Tuesday 14 April"
    slots: tuple[Slot, ...]


def clock(moment: datetime) -> str:
    """``9:30 am`` — how a runner reads a time."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def by_day(slots: Iterable[datetime], zone: str) -> list[Day]:
    """Slots grouped by the prospect's local day, each labelled in their zone (DST-correct)."""
    tz = ZoneInfo(zone)
    days: dict[date, list[Slot]] = {}
    for start in slots:
        local = _utc(start).astimezone(tz)
        days.setdefault(local.date(), []).append(Slot(_utc(start), clock(local)))
    return [Day(d, day_label(d), tuple(s)) for d, s in sorted(days.items())]


def parse_slot(text: str | None) -> datetime | None:
    """A posted slot value (``2026-04-14T14:30Z``) as aware UTC, or None."""
    if not text or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def when_text(start: datetime, end: datetime, zone: str) -> str:
    """``Tuesday 14 April, 9:30 am – 10:00 am (America/Denver)`` in the given zone."""
    tz = ZoneInfo(zone)
    s, e = _utc(start).astimezone(tz), _utc(end).astimezone(tz)
    return f"{day_label(s.date())}, {clock(s)} – {clock(e)} ({zone.replace('_', ' ')})"
