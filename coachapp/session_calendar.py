"""A booked strategy session as an iCalendar invite (RFC 5545 / iTIP RFC 5546), with ``icalendar``.

One event per booking: the UID is stable (``session-<booking uid>@<host>``) and SEQUENCE goes up
by one with each reschedule or cancellation, so a calendar app moves or removes the event it
already has instead of adding another. METHOD:REQUEST for a booking or a move, METHOD:CANCEL
(STATUS:CANCELLED, same UID) for a cancellation. ORGANIZER is the coach, ATTENDEE the runner.
Times are in the runner's zone with its VTIMEZONE, like ``plan_calendar``.

Pure: the caller passes everything (no Flask, database or clock here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//coachapp//Strategy session//EN"


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str

    def address(self, role: str) -> vCalAddress:
        address = vCalAddress(f"mailto:{self.email}")
        address.params["cn"] = vText(self.name)
        if role == "attendee":
            address.params["role"] = vText("REQ-PARTICIPANT")
            address.params["partstat"] = vText("ACCEPTED")
        return address


def session_uid(booking_uid: str, host: str) -> str:
    return f"session-{booking_uid}@{host}"


def invite(*, method: str, uid: str, sequence: int, start: datetime, end: datetime, zone: str,
           organizer: Person, attendee: Person, summary: str, description: str, stamp: datetime,
           url: str | None = None, location: str | None = None) -> str:
    """The invite as text (CRLF lines), ``method`` REQUEST or CANCEL."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, got {method!r}")
    tz = ZoneInfo(zone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", summary)
    event.add("description", description)
    event.add("organizer", organizer.address("organizer"))
    event.add("attendee", attendee.address("attendee"))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if url:
        event.add("url", url)
    if location:
        event.add("location", location)
    cal.add_component(event)
    cal.add_missing_timezones(first_date=start.date() - timedelta(days=7), last_date=end.date() + timedelta(days=7))
    return cal.to_ical().decode("utf-8")


def method_of(ics: str) -> str:
    """The METHOD of an invite (for the MIME part's ``method`` parameter)."""
    for line in ics.splitlines():
        if line.upper().startswith("METHOD:"):
            return line.split(":", 1)[1].strip().upper()
    return "PUBLISH"
