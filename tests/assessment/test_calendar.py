"""The plan as iCalendar (coachapp.plan_calendar): parsed back with the icalendar parser, expanded
with dateutil, and read through its own VTIMEZONE (what Outlook and Apple use) across a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from coachapp.assessment import evaluate
from coachapp.plan_calendar import WEEKS, plan_calendar, plan_end, plan_start
from tests.helpers import CHEST_PAIN, DESK_ACHILLES

TODAY = date(2025, 10, 10)
CHICAGO = "America/Chicago"
RESULTS = "https://coach.test/assessment/tok/results"


def _answers(base: dict, weeks_to_race: int = 30) -> dict:
    return {**base, "race_date": (TODAY + timedelta(weeks=weeks_to_race)).isoformat()}


def _plan(rules, answers=DESK_ACHILLES, weeks_to_race=30):
    return evaluate(rules, _answers(answers, weeks_to_race), today=TODAY).to_dict()["plan"]


def _build(plan, *, start=date(2025, 10, 13), end=None, zone=CHICAGO, **kwargs) -> Calendar:
    """Build, serialise and parse back, so every check reads what a calendar app reads."""
    cal = plan_calendar(plan, uid="tok", host="coach.test", zone=zone, start=start,
                        end=end or start + timedelta(weeks=WEEKS), results_url=RESULTS,
                        stamp=datetime(2025, 10, 10, 15, 0, tzinfo=UTC), **kwargs)
    return Calendar.from_ical(cal.to_ical())


def _occurrences(event) -> list[datetime]:
    return list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.start))


def _tiny(minutes=2, run=None, days=("Mon",)) -> dict:
    item = {"exercise_id": "ankle_cars", "name": "Seated ankle CARs", "dosage": "3–5 circles.",
            "cues": ["Keep the shin still", "Go slowly"], "side_note": "Left side first."}
    blocks = [{"block": "daily", "title": "Daily joint work", "minutes": minutes, "items": ["ankle_cars"]}]
    return {"phase": {"id": "no_race", "label": "No race planned"}, "items": [item],
            "week": [{"day": d, "run": run if d in days else None, "blocks": blocks if d in days else []}
                     for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]}


def test_one_weekly_event_per_day_with_blocks(rules):
    plan = _plan(rules)
    cal = _build(plan)
    assert str(cal["VERSION"]) == "2.0" and "coachapp" in str(cal["PRODID"])
    assert str(cal["METHOD"]) == "PUBLISH"
    days = [d for d in plan["week"] if d["blocks"]]
    assert len(cal.events) == len(days) > 0
    items = {i["exercise_id"]: i for i in plan["items"]}
    for day, event in zip(days, cal.events, strict=True):
        minutes = sum(b["minutes"] for b in day["blocks"])
        assert str(event["UID"]) == f"tok-{day['day'].lower()}@coach.test"
        assert event["RRULE"]["FREQ"] == ["WEEKLY"] and event["RRULE"]["COUNT"] == [WEEKS]
        assert event.start.strftime("%a %H:%M") == f"{day['day']} 07:00"
        assert event.end - event.start == timedelta(minutes=max(10, minutes))
        titles = " + ".join(b["title"].rsplit(": ", 1)[-1].capitalize() for b in day["blocks"])
        assert str(event["SUMMARY"]) == f"Mobility: {titles} ({minutes} min)"
        description = str(event["DESCRIPTION"])
        for block in day["blocks"]:
            for exercise_id in block["items"]:
                item = items[exercise_id]
                assert item["name"] in description and item["cues"][0] in description
                assert item["dosage"].rstrip(". ") in description
        assert description.endswith(RESULTS) and str(event["URL"]) == RESULTS
        assert event["DTSTAMP"].dt == datetime(2025, 10, 10, 15, 0, tzinfo=UTC)


def test_summary_example_and_short_days_last_ten_minutes():
    cal = _build(_tiny(minutes=2, run="easy"))
    (event,) = cal.events
    assert str(event["SUMMARY"]) == "Mobility: Daily joint work (2 min)"
    assert event.end - event.start == timedelta(minutes=10)
    assert str(event["DESCRIPTION"]).splitlines()[:2] == [
        "Daily joint work (2 min)",
        "- Seated ankle CARs: 3–5 circles. Keep the shin still. Left side first.",
    ]
    assert "Run day: easy run." in str(event["DESCRIPTION"])


def test_seven_am_local_across_the_november_dst_change(rules):
    cal = _build(_plan(rules), start=date(2025, 10, 13))  # 8 weeks cross Sun 2 Nov 2025
    (vtimezone,) = cal.timezones
    assert vtimezone.tz_name == CHICAGO
    own_rules = vtimezone.to_tz(lookup_tzid=False)  # the VTIMEZONE's own rules, not the tz database
    for event in cal.events:
        assert event["DTSTART"].params["TZID"] == CHICAGO
        occurrences = _occurrences(event)
        assert len(occurrences) == WEEKS
        assert {o.strftime("%H:%M") for o in occurrences} == {"07:00"}
        utc_hours = [o.replace(tzinfo=own_rules).astimezone(UTC).hour for o in occurrences]
        before = [h for o, h in zip(occurrences, utc_hours, strict=True) if o.date() < date(2025, 11, 2)]
        after = [h for o, h in zip(occurrences, utc_hours, strict=True) if o.date() > date(2025, 11, 2)]
        assert set(before) == {12} and set(after) == {13}, (event["UID"], utc_hours)


def test_same_plan_gives_the_same_document(rules):
    plan = _plan(rules)
    first, second = _build(plan).to_ical(), _build(plan).to_ical()
    assert first == second
    assert [str(e["UID"]) for e in Calendar.from_ical(first).events] == [
        str(e["UID"]) for e in Calendar.from_ical(second).events]


def test_red_result_has_no_events(rules):
    result = evaluate(rules, _answers(CHEST_PAIN), today=TODAY).to_dict()
    assert result["plan"] is None
    cal = _build(result["plan"])
    assert cal.events == [] and cal.timezones == []
    assert str(cal["VERSION"]) == "2.0"


def test_subscribed_feed_has_no_method_and_a_refresh_interval():
    cal = _build(_tiny(), method=None, refresh=timedelta(hours=6))
    assert "METHOD" not in cal
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=6)
    assert str(cal["X-PUBLISHED-TTL"]) == "PT6H"


def test_days_after_the_end_get_no_event():
    cal = _build(_tiny(days=("Mon", "Tue", "Wed")), start=date(2025, 10, 13), end=date(2025, 10, 15))
    assert [str(e["UID"]) for e in cal.events] == ["tok-mon@coach.test", "tok-tue@coach.test"]
    assert [e["RRULE"]["COUNT"] for e in cal.events] == [[1], [1]]


def test_utc_zone_needs_no_vtimezone():
    cal = _build(_tiny(), zone="UTC")
    assert cal.timezones == []
    assert cal.events[0].start == datetime(2025, 10, 13, 7, 0, tzinfo=UTC)


def test_plan_starts_the_runners_next_day():
    late_evening_in_chicago = datetime(2025, 11, 2, 3, 30, tzinfo=UTC)  # Sat 1 Nov, 22:30 CDT
    assert plan_start(late_evening_in_chicago, CHICAGO) == date(2025, 11, 2)
    assert plan_start(late_evening_in_chicago, "Europe/Berlin") == date(2025, 11, 3)


@pytest.mark.parametrize("weeks_to_race", [1, 2, 5, 10, 16, 30])
def test_plan_stops_when_its_phase_does(rules, weeks_to_race):
    plan = _plan(rules, weeks_to_race=weeks_to_race)
    race = TODAY + timedelta(weeks=weeks_to_race)
    bounds = {phase.id: phase.lo for phase in rules.schedule.phases}
    start = TODAY + timedelta(days=1)
    end = plan_end(start, plan, race_day=race, phase_from_weeks=bounds)
    assert start < end <= start + timedelta(weeks=WEEKS)

    def phase_on(day: date) -> str:
        return rules.schedule.phase({"derived.weeks_to_race": (race - day).days // 7}).id

    assert {phase_on(start + timedelta(days=n)) for n in range((end - start).days)} == {plan["phase"]["id"]}
    if end < start + timedelta(weeks=WEEKS):
        assert end == race or phase_on(end) != plan["phase"]["id"]  # stopped exactly at the change


def test_without_a_race_the_plan_runs_eight_weeks(rules):
    answers = {k: v for k, v in DESK_ACHILLES.items() if k != "race_date"}
    plan = evaluate(rules, answers, today=TODAY).to_dict()["plan"]
    bounds = {phase.id: phase.lo for phase in rules.schedule.phases}
    assert plan["phase"]["id"] not in bounds
    start = date(2025, 10, 13)
    assert plan_end(start, plan, race_day=date(2025, 11, 1), phase_from_weeks=bounds) == start + timedelta(weeks=8)
