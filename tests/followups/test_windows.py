"""Send-window and delay arithmetic: weekends, evenings, DST days, bad input (clock passed in)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from coachapp.followups.policy import Delay, Window, next_in_window

CHICAGO, LONDON = ZoneInfo("America/Chicago"), ZoneInfo("Europe/London")
WEEKDAYS = Window(("mon", "tue", "wed", "thu", "fri"), "08:00", "20:00")
EVERY_DAY = Window(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "08:00", "20:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)


def test_saturday_moves_to_monday_eight_local() -> None:
    due = next_in_window(WEEKDAYS, local(CHICAGO, 2026, 11, 21, 11, 30), "America/Chicago")
    assert due.tzinfo is UTC
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 23, 8, 0)


def test_tuesday_evening_moves_to_wednesday_morning() -> None:
    due = next_in_window(WEEKDAYS, local(CHICAGO, 2026, 11, 17, 21, 30), "America/Chicago")
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 18, 8, 0)


def test_inside_the_window_is_unchanged_and_the_end_is_exclusive() -> None:
    inside = local(CHICAGO, 2026, 11, 17, 14, 5)
    assert next_in_window(WEEKDAYS, inside, "America/Chicago") == inside.astimezone(UTC)
    early = next_in_window(WEEKDAYS, local(CHICAGO, 2026, 11, 17, 7, 59), "America/Chicago")
    assert early.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 17, 8, 0)
    at_close = next_in_window(WEEKDAYS, local(CHICAGO, 2026, 11, 17, 20, 0), "America/Chicago")
    assert at_close.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 18, 8, 0)


def test_the_same_instant_lands_differently_per_time_zone() -> None:
    moment = utc(2026, 11, 20, 21, 30)  # Friday: 21:30 in London, 15:30 in Chicago
    assert next_in_window(WEEKDAYS, moment, "Europe/London") == utc(2026, 11, 23, 8, 0)
    assert next_in_window(WEEKDAYS, moment, "America/Chicago") == moment


@pytest.mark.parametrize(
    ("tz", "night", "opening_utc"),
    [
        ("America/Chicago", utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 13, 0)),  # spring forward: CDT, UTC-5
        ("America/Chicago", utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 14, 0)),  # fall back: CST, UTC-6
        ("Europe/London", utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 7, 0)),  # BST, UTC+1
        ("Europe/London", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 8, 0)),  # GMT
    ],
)
def test_a_dst_change_day_keeps_eight_local(tz: str, night: datetime, opening_utc: datetime) -> None:
    due = next_in_window(EVERY_DAY, night, tz)
    assert due == opening_utc
    assert due.astimezone(ZoneInfo(tz)).hour == 8


def test_weekend_with_a_dst_change_lands_on_monday_with_the_new_offset() -> None:
    due = next_in_window(WEEKDAYS, local(CHICAGO, 2026, 3, 7, 12, 0), "America/Chicago")  # Saturday, CST
    assert due == utc(2026, 3, 9, 13, 0)  # Monday 08:00 CDT


def test_the_repeated_hour_counts_both_times() -> None:
    night = Window(EVERY_DAY.days, "01:00", "03:00")
    first = local(CHICAGO, 2026, 11, 1, 1, 30)  # CDT, 06:30 UTC
    second = local(CHICAGO, 2026, 11, 1, 1, 30, fold=1)  # CST, 07:30 UTC
    assert next_in_window(night, first, "America/Chicago") == utc(2026, 11, 1, 6, 30)
    assert next_in_window(night, second, "America/Chicago") == utc(2026, 11, 1, 7, 30)


def test_days_keep_the_local_time_and_hours_are_elapsed_across_dst() -> None:
    friday = local(CHICAGO, 2026, 3, 6, 10, 0)  # CST
    assert Delay(days=3).after(friday, CHICAGO).astimezone(CHICAGO) == local(CHICAGO, 2026, 3, 9, 10, 0)
    assert Delay(minutes=72 * 60).after(friday, CHICAGO).astimezone(CHICAGO) == local(CHICAGO, 2026, 3, 9, 11, 0)


def test_a_skipped_local_time_lands_after_the_gap() -> None:
    saturday = local(CHICAGO, 2026, 3, 7, 2, 30)
    due = Delay(days=1).after(saturday, CHICAGO)  # 02:30 on 8 March does not exist
    assert due == utc(2026, 3, 8, 8, 30)
    assert due.astimezone(CHICAGO).strftime("%H:%M %Z") == "03:30 CDT"
    assert next_in_window(EVERY_DAY, due, "America/Chicago") == utc(2026, 3, 8, 13, 0)


def test_a_repeated_local_time_takes_its_first_occurrence() -> None:
    due = Delay(days=1).after(local(CHICAGO, 2026, 10, 31, 1, 30), CHICAGO)
    assert due == utc(2026, 11, 1, 6, 30)  # the CDT 01:30
    late = Delay(minutes=120).after(local(CHICAGO, 2026, 11, 1, 0, 30), CHICAGO)
    assert late == utc(2026, 11, 1, 7, 30)  # two real hours: the second 01:30 (CST)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (((), "08:00", "20:00"), "days must list"),
        ((("mon", "mon"), "08:00", "20:00"), "once each"),
        ((("monday",), "08:00", "20:00"), "days must list"),
        ((("mon",), "20:00", "08:00"), "must start before it ends"),
        ((("mon",), "08:00", "08:00"), "must start before it ends"),
        ((("mon",), "8h", "20:00"), "must look like"),
    ],
)
def test_invalid_windows_are_rejected(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Window(*args)


def test_unknown_time_zone_and_naive_moments_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        next_in_window(WEEKDAYS, utc(2026, 11, 17, 12, 0), "Mars/Olympus")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_in_window(WEEKDAYS, datetime(2026, 11, 17, 12, 0), "America/Chicago")
