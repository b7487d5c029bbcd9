"""Working-time arithmetic: windows in the coach's zone, weekends, lunch, DST, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from coachapp.leads.worktime import (
    WorkingHours,
    add_working_minutes,
    next_working_moment,
    parse_working_hours,
    working_minutes_between,
)

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")
LA = ZoneInfo("America/Los_Angeles")
WEEKDAYS = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.fixture
def chicago() -> WorkingHours:
    return parse_working_hours(WEEKDAYS, tz="America/Chicago")


def test_friday_afternoon_rolls_over_the_weekend(chicago: WorkingHours) -> None:
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 11, 20, 16, 0), minutes=120)
    assert due.tzinfo is UTC
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 23, 10, 0)  # Monday 10:00


def test_start_on_saturday_counts_from_monday_nine(chicago: WorkingHours) -> None:
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 11, 21, 11, 30), minutes=45)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 23, 9, 45)


def test_start_before_opening_counts_from_opening(chicago: WorkingHours) -> None:
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 11, 17, 6, 0), minutes=30)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 17, 9, 30)


def test_lunch_gap_is_skipped() -> None:
    hours = parse_working_hours({"tue": ["13:00-17:00", "09:00-12:00"]}, tz="America/Chicago")
    due = add_working_minutes(hours, start=local(CHICAGO, 2026, 11, 17, 11, 0), minutes=120)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 17, 14, 0)
    # starting inside lunch waits for 13:00
    due = add_working_minutes(hours, start=local(CHICAGO, 2026, 11, 17, 12, 20), minutes=10)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 17, 13, 10)


def test_one_working_day_spans_two_days(chicago: WorkingHours) -> None:
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 11, 17, 13, 0), minutes=8 * 60)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 18, 13, 0)


def test_finishing_at_the_end_of_a_window_returns_that_end(chicago: WorkingHours) -> None:
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 11, 20, 15, 0), minutes=120)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 20, 17, 0)


def test_london_coach_and_a_late_lead_from_los_angeles() -> None:
    hours = parse_working_hours(WEEKDAYS, tz="Europe/London")
    submitted = local(LA, 2026, 11, 17, 23, 0)  # Tuesday 23:00 in LA = Wednesday 07:00 in London
    assert submitted.astimezone(LONDON) == local(LONDON, 2026, 11, 18, 7, 0)
    due = add_working_minutes(hours, start=submitted, minutes=120)
    assert due.astimezone(LONDON) == local(LONDON, 2026, 11, 18, 11, 0)
    assert due == datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    # in July London is on BST (UTC+1) and LA on PDT: 23:00 PDT = 07:00 BST
    due = add_working_minutes(hours, start=local(LA, 2026, 7, 14, 23, 0), minutes=120)
    assert due == datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
    assert due.astimezone(LONDON).hour == 11


def test_spring_forward_keeps_the_local_wall_clock(chicago: WorkingHours) -> None:
    # Friday 2026-03-06 16:00 CST (UTC-6); clocks go forward on Sunday 2026-03-08.
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 3, 6, 16, 0), minutes=120)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 3, 9, 10, 0)
    assert due == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # CDT, UTC-5


def test_fall_back_keeps_the_local_wall_clock(chicago: WorkingHours) -> None:
    # Friday 2026-10-30 16:00 CDT (UTC-5); clocks go back on Sunday 2026-11-01.
    due = add_working_minutes(chicago, start=local(CHICAGO, 2026, 10, 30, 16, 0), minutes=120)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 2, 10, 0)
    assert due == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)  # CST, UTC-6


@pytest.mark.parametrize("sunday", [date(2026, 3, 8), date(2026, 11, 1)])
def test_a_window_on_the_dst_day_itself(sunday: date) -> None:
    hours = parse_working_hours({"sun": ["09:00-17:00"]}, tz="America/Chicago")
    saturday_noon = datetime.combine(sunday - timedelta(days=1), time(12, 0), tzinfo=CHICAGO)
    due = add_working_minutes(hours, start=saturday_noon, minutes=60)
    assert due.astimezone(CHICAGO).replace(tzinfo=None) == datetime.combine(sunday, time(10, 0))
    end = add_working_minutes(hours, start=saturday_noon, minutes=8 * 60)
    assert end.astimezone(CHICAGO).replace(tzinfo=None) == datetime.combine(sunday, time(17, 0))
    assert (end - due) == timedelta(hours=7)


def test_window_across_the_skipped_hour_counts_real_time() -> None:
    hours = parse_working_hours({"sun": ["00:00-12:00"]}, tz="America/Chicago")
    start = local(CHICAGO, 2026, 3, 8, 0, 0)
    # 00:00–12:00 local on spring-forward day is 11 real hours
    assert working_minutes_between(hours, start, local(CHICAGO, 2026, 3, 8, 12, 0)) == 11 * 60
    due = add_working_minutes(hours, start=start, minutes=11 * 60)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 3, 8, 12, 0)


def test_next_working_moment(chicago: WorkingHours) -> None:
    inside = local(CHICAGO, 2026, 11, 17, 10, 15)
    assert next_working_moment(chicago, inside) == inside.astimezone(UTC)
    after = next_working_moment(chicago, local(CHICAGO, 2026, 11, 20, 17, 0))
    assert after.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 23, 9, 0)


def test_days_off_are_skipped() -> None:
    hours = parse_working_hours(WEEKDAYS, tz="America/Chicago", days_off=["2026-11-26", date(2026, 11, 27)])
    due = add_working_minutes(hours, start=local(CHICAGO, 2026, 11, 25, 16, 0), minutes=120)
    assert due.astimezone(CHICAGO) == local(CHICAGO, 2026, 11, 30, 10, 0)  # Thanksgiving + Friday off


def test_working_minutes_between(chicago: WorkingHours) -> None:
    start, end = local(CHICAGO, 2026, 11, 20, 16, 0), local(CHICAGO, 2026, 11, 23, 10, 0)
    assert working_minutes_between(chicago, start, end) == 120
    assert working_minutes_between(chicago, end, start) == 0


def test_window_ending_at_midnight() -> None:
    hours = parse_working_hours({"mon": ["20:00-24:00"], "tue": ["00:00-02:00"]}, tz="UTC")
    due = add_working_minutes(hours, start=datetime(2026, 11, 23, 23, 0, tzinfo=UTC), minutes=120)
    assert due == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert hours.to_dict()["week"]["mon"] == ["20:00-24:00"]


@pytest.mark.parametrize(
    ("spec", "tz", "message"),
    [
        ({}, "America/Chicago", "no windows"),
        ({"mon": [], "sat": []}, "America/Chicago", "no windows"),
        ({"mon": ["09:00-12:00", "11:30-17:00"]}, "America/Chicago", "overlap"),
        ({"mon": ["17:00-09:00"]}, "America/Chicago", "must start before it ends"),
        ({"mon": ["09:00-09:00"]}, "America/Chicago", "must start before it ends"),
        ({"mon": ["9am-5pm"]}, "America/Chicago", "must look like '09:00-17:00'"),
        ({"mon": ["09:00-25:00"]}, "America/Chicago", "not a valid time range"),
        ({"monday": ["09:00-17:00"]}, "America/Chicago", "unknown day 'monday'"),
        ({"mon": "09:00-17:00"}, "America/Chicago", "expected a list"),
        ({"mon": ["09:00-17:00"]}, "America/Austin", "unknown time zone"),
    ],
)
def test_invalid_hours_raise_a_clear_error(spec: dict, tz: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_working_hours(spec, tz=tz)


def test_empty_week_built_directly_also_raises() -> None:
    with pytest.raises(ValueError, match="no windows"):
        WorkingHours(CHICAGO, ((),) * 7)


def test_search_is_capped_when_days_off_never_end() -> None:
    first_monday = date(2026, 11, 23)
    mondays = [first_monday + timedelta(weeks=i) for i in range(70)]
    hours = parse_working_hours({"mon": ["09:00-17:00"]}, tz="America/Chicago", days_off=mondays)
    with pytest.raises(ValueError, match="no working time in 400 consecutive days"):
        add_working_minutes(hours, start=local(CHICAGO, 2026, 11, 21, 9, 0), minutes=10)


def test_naive_start_and_negative_minutes_are_rejected(chicago: WorkingHours) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_minutes(chicago, start=datetime(2026, 11, 17, 10, 0), minutes=10)
    with pytest.raises(ValueError, match="minutes must be"):
        add_working_minutes(chicago, start=local(CHICAGO, 2026, 11, 17, 10, 0), minutes=-5)
