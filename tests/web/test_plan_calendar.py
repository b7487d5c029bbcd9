"""The plan in the runner's calendar, through the test client on every backend: the .ics download
per assessment and the signed feed that follows the lead's newest assessment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dateutil.rrule import rrulestr
from icalendar import Calendar
from itsdangerous import URLSafeSerializer

from coachapp.extensions import db
from coachapp.leads.assessments import start
from coachapp.leads.triage import latest_assessment
from coachapp.links import calendar_token, plan_download_url, subscribe_urls
from coachapp.models import Lead
from coachapp.public.calendar import plan_calendar_links
from coachapp.public.unsubscribe import unsubscribe_token
from tests.helpers import CHEST_PAIN, DESK_ACHILLES, complete_assessment

NOW = datetime(2025, 10, 10, 15, 0, tzinfo=UTC)  # Fri; the plan from Sat 11 Oct crosses Sun 2 Nov (DST ends)
EMAIL = "dana@example.com"


def _answers() -> dict:
    return {**DESK_ACHILLES, "race_date": (NOW.date() + timedelta(weeks=30)).isoformat()}


def _assess(answers=None, now=NOW, zone: str | None = "America/Chicago") -> tuple[Lead, str]:
    lead = complete_assessment(answers or _answers(), EMAIL, now)
    lead.time_zone = zone
    db.session.commit()
    return lead, latest_assessment(lead.id).token


def _parse(response) -> Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.get_data())


def _path(url: str) -> str:
    return url.removeprefix("http://coach.test")


def test_download_is_an_attachment_in_the_runners_zone_at_seven_across_dst(web):
    lead, token = _assess()
    response = web.get(f"/assessment/{token}/plan.ics")
    cal = _parse(response)
    assert response.headers["Content-Disposition"] == 'attachment; filename="running-mobility-plan.ics"'
    assert "private" in response.headers["Cache-Control"]
    assert str(cal["METHOD"]) == "PUBLISH"
    assert [tz.tz_name for tz in cal.timezones] == ["America/Chicago"]
    submission = latest_assessment(lead.id)
    days = [d["day"] for d in submission.result["plan"]["week"] if d["blocks"]]
    assert [str(e["UID"]) for e in cal.events] == [f"{token}-{d.lower()}@coach.test" for d in days]
    own_rules = cal.timezones[0].to_tz(lookup_tzid=False)
    for event in cal.events:
        assert event["DTSTART"].params["TZID"] == "America/Chicago"
        occurrences = list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.start))
        assert occurrences[0].date() >= date(2025, 10, 11) and len(occurrences) == 8
        assert {o.strftime("%H:%M") for o in occurrences} == {"07:00"}
        utc_hours = {o.date() < date(2025, 11, 2): o.replace(tzinfo=own_rules).astimezone(UTC).hour
                     for o in occurrences}
        assert utc_hours == {True: 12, False: 13}
        assert f"http://coach.test/assessment/{token}/results" in str(event["DESCRIPTION"])


def test_download_is_the_same_document_each_time(web):
    _, token = _assess()
    first = web.get(f"/assessment/{token}/plan.ics")
    second = web.get(f"/assessment/{token}/plan.ics")
    assert first.get_data() == second.get_data()
    assert [str(e["UID"]) for e in _parse(first).events] == [str(e["UID"]) for e in _parse(second).events]
    again = web.get(f"/assessment/{token}/plan.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_no_download_for_unknown_unfinished_or_red_assessments(web):
    assert web.get("/assessment/no-such-token/plan.ics").status_code == 404
    unfinished = start({}, NOW)
    db.session.commit()
    assert web.get(f"/assessment/{unfinished.token}/plan.ics").status_code == 404
    _, red = _assess(CHEST_PAIN)
    assert web.get(f"/assessment/{red}/plan.ics").status_code == 404


def test_zone_falls_back_to_the_default(web, db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "DEFAULT_TIME_ZONE", "Europe/London")
    _, token = _assess(zone=None)
    cal = _parse(web.get(f"/assessment/{token}/plan.ics"))
    assert [tz.tz_name for tz in cal.timezones] == ["Europe/London"]
    assert {e["DTSTART"].params["TZID"] for e in cal.events} == {"Europe/London"}


def test_subscribe_urls_https_and_webcal(db_app):
    lead, token = _assess()
    urls = subscribe_urls(lead.id)
    assert urls.https == f"http://coach.test/calendar/{calendar_token(lead.id)}.ics"
    assert urls.webcal == f"webcal://coach.test/calendar/{calendar_token(lead.id)}.ics"
    assert plan_download_url(token) == f"http://coach.test/assessment/{token}/plan.ics"
    links = plan_calendar_links(latest_assessment(lead.id))
    assert links == {"download": plan_download_url(token), "subscribe": urls.https, "webcal": urls.webcal}
    assert "plan_calendar_links" in db_app.jinja_env.globals


def test_feed_follows_the_newest_assessment_of_the_lead(web):
    lead, first = _assess()
    feed = _path(subscribe_urls(lead.id).https)
    response = web.get(feed)
    cal = _parse(response)
    assert "METHOD" not in cal and str(cal["X-PUBLISHED-TTL"]) == "PT6H"
    assert "max-age=900" in response.headers["Cache-Control"] and "private" in response.headers["Cache-Control"]
    assert cal.events and all(str(e["UID"]).startswith(f"{first}-") for e in cal.events)

    _, second = _assess(now=NOW + timedelta(days=1))  # a retake
    cal = _parse(web.get(feed))
    assert cal.events and all(str(e["UID"]).startswith(f"{second}-") for e in cal.events)
    assert f"/assessment/{second}/results" in str(cal.events[0]["DESCRIPTION"])

    _assess(CHEST_PAIN, now=NOW + timedelta(days=2))  # clinician first: the calendar empties
    cal = _parse(web.get(feed))
    assert cal.events == [] and str(cal["VERSION"]) == "2.0"
    assert plan_calendar_links(latest_assessment(lead.id)) is None


def test_feed_needs_a_good_signature(web):
    lead, _ = _assess()
    signed = calendar_token(lead.id)
    assert web.get(f"/calendar/{signed}.ics").status_code == 200
    payload, signature = signed.split(".")
    assert web.get(f"/calendar/{payload}.{signature[::-1]}.ics").status_code == 404
    forged = URLSafeSerializer("wrong key", salt="coachapp.calendar").dumps({"lead": lead.id})
    assert web.get(f"/calendar/{forged}.ics").status_code == 404
    assert web.get("/calendar/not-signed.ics").status_code == 404
    assert web.get(f"/calendar/{unsubscribe_token(lead.id)}.ics").status_code == 404  # other purpose
    lead.erased_at = NOW
    db.session.commit()
    assert web.get(f"/calendar/{signed}.ics").status_code == 404
