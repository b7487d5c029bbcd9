"""The visit counter behind the Insights funnel's first step: views of the assessment's intro
page, one upsert per view per hour and first-touch source, and never a failed page because of it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from coachapp.extensions import db
from coachapp.models import PageVisit, utcnow
from coachapp.models.visit import ASSESSMENT_INTRO


def test_intro_page_visits_are_counted_per_source(web):
    assert web.get("/assessment?utm_source=Instagram").status_code == 200
    assert web.get("/").status_code == 200  # the home page shows the intro too; same first touch
    web.get("/assessment/nope")  # other pages do not count
    web.post("/assessment/start")
    other = type(web)(web.client.application.test_client())
    other.get("/assessment", headers={"Referer": "https://www.strava.com/activities/1"})
    rows = db.session.execute(select(PageVisit.page, PageVisit.source, PageVisit.count)
                              .order_by(PageVisit.source)).all()
    assert rows == [(ASSESSMENT_INTRO, "Instagram", 2), (ASSESSMENT_INTRO, "www.strava.com", 1)]
    hour = db.session.scalar(select(PageVisit.hour).limit(1))
    assert hour.minute == hour.second == hour.microsecond == 0 and utcnow() - hour < timedelta(hours=1, minutes=1)


def test_a_failing_visit_counter_never_fails_the_page(web, monkeypatch):
    from coachapp.public import visits as hook

    def broken(*args, **kwargs):
        raise OperationalError("INSERT INTO page_visits …", {}, Exception("disk full"))

    monkeypatch.setattr(hook, "count_visit", broken)
    response = web.get("/assessment")
    assert response.status_code == 200 and "Start the free assessment" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert web.get("/assessment").status_code == 200  # the session was rolled back and works again
    assert db.session.scalar(select(PageVisit.count)) == 1
