"""The pure slot arithmetic, the booking rules' validation and the invite (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from coachapp.assessment._schema import Issues
from coachapp.leads.slots import BookingRules, by_day, free_slots, load_booking_rules, parse_slot, reminder_due
from coachapp.leads.worktime import parse_working_hours
from coachapp.session_calendar import Person, invite, method_of

CHI = ZoneInfo("America/Chicago")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
RULES = BookingRules(slot_picking=True, slot_minutes=30, buffer_minutes=15, notice_minutes=240, days_ahead=14)


def _chi(*args) -> datetime:
    return datetime(*args, tzinfo=CHI).astimezone(UTC)


def _hours(zone="America/Chicago", window="09:00-12:00", days=WEEKDAYS):
    return parse_working_hours({d: [window] for d in days}, zone)


def test_slots_follow_the_working_window_grid_and_the_minimum_notice():
    now = _chi(2026, 3, 2, 6, 0)  # Monday 06:00 in Chicago: 4 h notice → 10:00
    slots = free_slots(_hours(), [], RULES, now)
    monday = [s for s in slots if s.astimezone(CHI).date().day == 2]
    assert [s.astimezone(CHI).strftime("%H:%M") for s in monday] == ["10:00", "10:30", "11:00", "11:30"]
    assert all(s.tzinfo is not None and s.utcoffset() == timedelta(0) for s in slots)  # aware UTC
    tuesday = [s for s in slots if s.astimezone(CHI).date().day == 3]
    assert len(tuesday) == 6  # 09:00 … 11:30: a 30-minute slot must end inside the window


def test_existing_bookings_are_removed_with_the_buffer_either_side():
    now = _chi(2026, 3, 1, 12, 0)  # Sunday
    busy = [(_chi(2026, 3, 2, 10, 0), _chi(2026, 3, 2, 10, 30))]
    monday = [s.astimezone(CHI).strftime("%H:%M") for s in free_slots(_hours(), busy, RULES, now)
              if s.astimezone(CHI).day == 2]
    # 09:30–10:00 ends inside 09:45 (buffer), 10:30–11:00 starts before 10:45: both gone
    assert monday == ["09:00", "11:00", "11:30"]
    no_buffer = BookingRules(slot_minutes=30, buffer_minutes=0, notice_minutes=0, days_ahead=14)
    assert len([s for s in free_slots(_hours(), busy, no_buffer, now) if s.astimezone(CHI).day == 2]) == 5


def test_days_ahead_ends_at_the_end_of_the_coachs_local_day():
    now = _chi(2026, 3, 2, 6, 0)
    slots = free_slots(_hours(), [], RULES, now)
    assert max(s.astimezone(CHI).date() for s in slots) == datetime(2026, 3, 16).date()  # Monday + 14 days
    short = BookingRules(days_ahead=1, notice_minutes=0)
    assert {s.astimezone(CHI).date().day for s in free_slots(_hours(), [], short, now)} == {2, 3}


def test_a_week_over_berlins_dst_change_keeps_local_hours_and_shows_them_in_denver():
    """Berlin leaves summer time on 25 Oct 2026, Denver on 1 Nov: the coach's 09:00 is 07:00 UTC,
    then 08:00 UTC; the runner in Denver sees 1:00 am, then 2:00 am, then 1:00 am again."""
    hours = _hours("Europe/Berlin", "09:00-09:30", WEEKDAYS)
    now = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)
    rules = BookingRules(slot_minutes=30, buffer_minutes=0, notice_minutes=0, days_ahead=14)
    slots = free_slots(hours, [], rules, now)
    assert all(s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "09:00" for s in slots)
    utc_hours = {s.date().isoformat(): s.hour for s in slots}
    assert utc_hours["2026-10-23"] == 7 and utc_hours["2026-10-26"] == 8 and utc_hours["2026-11-02"] == 8
    days = {d.day.isoformat(): [s.label for s in d.slots] for d in by_day(slots, "America/Denver")}
    assert days["2026-10-23"] == ["1:00 am"] and days["2026-10-26"] == ["2:00 am"] and days["2026-11-02"] == ["1:00 am"]
    assert by_day(slots, "America/Denver")[0].label == "Thursday 22 October"


def test_posted_slot_values_parse_back_to_the_same_instant():
    now = _chi(2026, 3, 2, 6, 0)
    for slot in by_day(free_slots(_hours(), [], RULES, now), "Asia/Kolkata")[0].slots:
        assert parse_slot(slot.value) == slot.start
    assert parse_slot("2026-03-02T10:00") is None and parse_slot("nonsense") is None and parse_slot(None) is None


@pytest.mark.parametrize(("before", "booked_before", "local_hour_ok", "expected"), [
    (timedelta(hours=30), timedelta(days=3), True, None),  # too early
    (timedelta(hours=23, minutes=59), timedelta(days=3), True, "day"),
    (timedelta(hours=23), timedelta(hours=23, minutes=30), True, None),  # booked less than 24 h ahead
    (timedelta(minutes=59), timedelta(hours=2), True, "hour"),  # the hour one goes even if booked late
    (timedelta(minutes=-1), timedelta(days=3), True, None),  # over
])
def test_reminders_are_due_a_day_and_an_hour_before(before, booked_before, local_hour_ok, expected):
    start = _chi(2026, 3, 4, 15, 0)  # Wednesday 15:00: a day before is 15:00, inside the window
    window = parse_working_hours({d: ["07:00-21:00"] for d in (*WEEKDAYS, "sat", "sun")}, "America/Chicago")
    assert reminder_due(start, start - booked_before, start - before, RULES, window) == expected


def test_the_day_before_reminder_waits_for_the_runners_daytime():
    start = _chi(2026, 3, 4, 8, 0)  # 08:00: a day before is 08:00 Tuesday… make the window start at 10:00
    window = parse_working_hours({d: ["10:00-21:00"] for d in WEEKDAYS}, "America/Chicago")
    booked = start - timedelta(days=3)
    assert reminder_due(start, booked, _chi(2026, 3, 3, 8, 30), RULES, window) is None  # night-ish: waits
    assert reminder_due(start, booked, _chi(2026, 3, 3, 10, 0), RULES, window) == "day"  # window opens
    assert reminder_due(start, booked, _chi(2026, 3, 3, 22, 0), RULES, window) is None  # closed again
    assert reminder_due(start, booked, _chi(2026, 3, 4, 7, 5), RULES, window) == "hour"  # regardless


def _load(**changes):
    data = {"version": 1, "slot_picking": True, "slot": {"minutes": 30, "coach_judgement": "x"},
            "buffer": {"minutes": 15, "coach_judgement": "x"}, "minimum_notice": {"hours": 4, "coach_judgement": "x"},
            "days_ahead": {"days": 14, "coach_judgement": "x"},
            "reminders": {"day_before_hours": 24, "hour_before_hours": 1, "window": "every_day",
                          "coach_judgement": "x"}}
    data.update(changes)
    errors: list[str] = []
    return load_booking_rules(data, Issues(errors, "booking.yaml")), errors


def test_booking_rules_load_and_name_the_field_of_each_problem():
    rules, errors = _load()
    assert not errors and rules.slot_minutes == 30 and rules.notice_minutes == 240 and rules.slot_picking
    assert _load(slot_picking="off")[0].slot_picking is False
    assert _load(slot_picking="maybe")[1] == ["booking.yaml: slot_picking: must be on or off, got 'maybe'"]
    assert any(e.startswith("booking.yaml: slot:") and "from 10 to 240" in e
               for e in _load(slot={"minutes": 5, "coach_judgement": "x"})[1])
    assert any("days_ahead" in e and "coach_judgement" in e for e in _load(days_ahead={"days": 14})[1])
    assert any("reminders" in e for e in _load(reminders={"day_before_hours": 1, "hour_before_hours": 2,
                                                          "window": "every_day", "coach_judgement": "x"})[1])
    assert any("missing required key 'buffer'" in e for e in _load(buffer=None)[1] + _load_without("buffer"))


def _load_without(key: str) -> list[str]:
    data = {"version": 1, key: None}
    errors: list[str] = []
    load_booking_rules({k: v for k, v in data.items() if k != key}, Issues(errors, "booking.yaml"))
    return errors


def test_the_invite_parses_back_with_method_uid_sequence_and_start():
    start = _chi(2026, 3, 4, 15, 0)
    text = invite(method="REQUEST", uid="session-abc@coach.test", sequence=2, start=start,
                  end=start + timedelta(minutes=30), zone="America/Denver",
                  organizer=Person("Sam Coach", "sam@motive.example"), attendee=Person("Dana", "dana@example.com"),
                  summary="Free strategy session", description="Phone call", stamp=start - timedelta(days=1))
    cal = Calendar.from_ical(text)
    event = cal.walk("VEVENT")[0]
    assert str(cal["METHOD"]) == "REQUEST" and method_of(text) == "REQUEST"
    assert str(event["UID"]) == "session-abc@coach.test" and int(event["SEQUENCE"]) == 2
    assert event.decoded("DTSTART") == start and str(event.decoded("DTSTART").tzinfo) == "America/Denver"
    assert "mailto:sam@motive.example" in str(event["ORGANIZER"]) and "dana@example.com" in str(event["ATTENDEE"])
    assert cal.walk("VTIMEZONE"), "the runner's zone travels with the invite"
    cancel = Calendar.from_ical(invite(method="CANCEL", uid="session-abc@coach.test", sequence=3, start=start,
                                       end=start + timedelta(minutes=30), zone="UTC", organizer=Person("S", "s@x.io"),
                                       attendee=Person("D", "d@x.io"), summary="s", description="d", stamp=start))
    assert str(cancel["METHOD"]) == "CANCEL" and str(cancel.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_the_real_rules_folder_refuses_a_broken_booking_file_naming_the_field(tmp_path):
    from tests.rules_copy import broken_rules

    apply = broken_rules(tmp_path)

    def edit(data):
        data["slot_picking"] = "sometimes"
        data["buffer"].pop("coach_judgement")
        data["reminders"]["window"] = "nights"

    errors = apply({"booking.yaml": edit})
    assert "booking.yaml: slot_picking: must be on or off, got 'sometimes'" in errors
    assert any(e.startswith("booking.yaml: buffer:") and "coach_judgement" in e for e in errors)
    assert any(e.startswith("booking.yaml: reminders: unknown window 'nights'") for e in errors)


def test_slot_picking_off_in_the_file_loads():
    import shutil
    import tempfile
    from pathlib import Path

    from coachapp.assessment import load_rules
    from tests.rules_copy import RULES_DIR

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rules"
        shutil.copytree(RULES_DIR, root)
        path = root / "booking.yaml"
        path.write_text(path.read_text().replace("slot_picking: on", "slot_picking: off"))
        assert load_rules(root).booking.slot_picking is False
