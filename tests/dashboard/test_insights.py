"""Insights: exact funnel, drop-off, priority and first-contact numbers on a known dataset
(SQLite and PostgreSQL), and the owner-only page with inline, CSP-safe charts."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coachapp.dashboard import metrics
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, CoachTask, Lead, LeadEvent, utcnow
from coachapp.rules_store import get_rules
from tests.helpers_dashboard import coach_with_password, sign_in

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday; 4 weeks = Mondays 26 Oct … 16 Nov
SECTIONS = ["about_you", "safety", "running", "goals", "injuries", "self_tests"]


def at(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def submission(started: datetime, touch: dict[str, Any], *, done: list[str] | None = None,
               current: str | None = None, top: str | None = None, flags: list[dict] | None = None) -> None:
    completed = flags is not None
    db.session.add(AssessmentSubmission(
        token=secrets.token_urlsafe(12), status="completed" if completed else "in_progress",
        first_touch=touch, started_at=started, updated_at=started,
        steps_done=SECTIONS if completed else (done or []), current_step="contact" if completed else current,
        completed_at=started + timedelta(minutes=9) if completed else None, top_priority=top,
        result={"flags": flags, "priorities": [], "plan": {"big": "x" * 50}} if completed else None,
    ))


def lead(email: str, created: datetime, source: str, owner=None, **extra: Any) -> Lead:
    row = Lead(email=email, email_display=email, source=source, created_at=created, updated_at=created,
               owner_id=owner.id if owner else None, **extra)
    db.session.add(row)
    db.session.flush()
    return row


def stage(row: Lead, before: str, after: str, when: datetime) -> None:
    db.session.add(LeadEvent(lead_id=row.id, kind="stage", summary=f"Stage {before} → {after}",
                             data={"before": before, "after": after}, created_at=when))
    row.stage = after


def task(row: Lead, coach, status: str, completed: datetime | None) -> None:
    db.session.add(CoachTask(lead_id=row.id, coach_id=coach.id, kind="first_contact", title="First contact",
                             due_at=row.created_at + timedelta(hours=4), status=status, created_at=row.created_at,
                             completed_at=completed))


@pytest.fixture
def team(db_app) -> dict[str, Any]:
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True, time_zone="UTC")
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example")
    alex = coach_with_password(db, name="Alex Kin", email="alex@motive.example")
    return {"owner": owner, "sam": sam, "alex": alex}


@pytest.fixture
def dataset(team) -> dict[str, Any]:
    """Six assessments and six leads in the 4 weeks to NOW, plus rows outside it that must not count."""
    sam, alex = team["sam"], team["alex"]
    flag = {"id": "NO_STRENGTH_WORK", "label": "old label"}
    submission(at(16, 9), {"utm_source": "google"}, top="ankle_dorsiflexion",
               flags=[{"id": "PREVIOUS_INJURY_12M", "label": "x"}, flag])
    submission(at(10, 8), {"referrer_host": "strava.com"}, top="ankle_dorsiflexion",
               flags=[flag, {"id": "LEGACY", "label": "Legacy flag"}])
    submission(at(10, 9), {"utm_source": "google", "referrer_host": "strava.com"}, top=None,
               flags=[{"id": "TECHNICAL_TRAIL", "label": "x"}, {"id": "TECHNICAL_TRAIL", "label": "x"}])
    submission(at(3, 7), {}, done=["about_you", "safety"], current="safety")  # stopped at "running"
    submission(at(3, 8), {"utm_source": "google"}, done=["about_you"], current="safety")  # at "safety"
    submission(at(27, 6, month=10), {"utm_source": ""}, done=SECTIONS, current="self_tests")  # at "contact"
    submission(at(20, month=10), {"utm_source": "google"}, top="hip_extension", flags=[])  # before the period
    submission(at(18, 13), {"utm_source": "google"})  # after NOW

    l1 = lead("l1@x.example", at(16, 10), "google", sam)  # contacted after 2 h, then all the way to client
    stage(l1, "new", "contacted", at(16, 12))
    stage(l1, "contacted", "session_booked", at(17, 9))
    stage(l1, "session_booked", "session_held", at(17, 15))
    stage(l1, "session_held", "client", at(18, 10))
    l2 = lead("l2@x.example", at(10, 8), "strava.com", sam)  # task done after 4 h, booked a day later
    task(l2, sam, "done", at(10, 12))
    stage(l2, "new", "session_booked", at(11, 12))
    lead("l3@x.example", at(10, 9), "google", sam)  # still waiting
    l4 = lead("l4@x.example", at(3, 10), "google", alex)  # straight to client after 17 h
    task(l4, alex, "cancelled", at(3, 11))  # a cancelled task is no contact
    stage(l4, "new", "client", at(4, 3))
    l5 = lead("l5@x.example", at(27, 9, month=10), "direct", alex)  # closed without contact
    stage(l5, "new", "lost", at(27, 10, month=10))
    l6 = lead("l6@x.example", at(28, 9, month=10), "facebook")  # unassigned; a no-show was booked
    stage(l6, "new", "no_show", at(29, 9, month=10))
    l7 = lead("l7@x.example", at(20, month=10), "google", sam)  # before the period
    stage(l7, "new", "client", at(21, month=10))
    lead("l8@x.example", at(12, 9), "google", alex, erased_at=at(13))  # erased
    db.session.commit()
    return team


def period(weeks: int = 4, tz: str = "UTC") -> metrics.Period:
    return metrics.period_ending(NOW, weeks, tz)


def test_funnel_by_week_by_source_and_conversion(dataset):
    f = metrics.funnel(period())
    assert f.totals == {"started": 6, "finished": 3, "leads": 6, "booked": 4, "held": 2, "clients": 2}
    assert f.conversions == [("started", "finished", 50.0), ("finished", "leads", 200.0),
                             ("leads", "booked", 66.7), ("booked", "held", 50.0), ("held", "clients", 100.0)]
    assert [list(row.counts.values()) for row in f.by_week] == [
        [1, 0, 2, 1, 0, 0],  # 26 Oct: l5, l6 (no-show = booked)
        [2, 0, 1, 1, 1, 1],  # 2 Nov: l4 straight to client
        [2, 2, 2, 1, 0, 0],  # 9 Nov: l2 booked, l3 waiting (l8 erased)
        [1, 1, 1, 1, 1, 1],  # 16 Nov: l1
    ]
    assert {row.key: list(row.counts.values()) for row in f.by_source} == {
        "google": [3, 2, 3, 2, 2, 2],
        "direct": [2, 0, 1, 0, 0, 0],
        "strava.com": [1, 1, 1, 1, 0, 0],
        "facebook": [0, 0, 1, 1, 0, 0],
    }
    assert [row.key for row in f.by_source] == ["google", "direct", "strava.com", "facebook"]
    assert f.by_source[0].lead_to_client == 66.7


def test_weeks_follow_the_owners_time_zone(dataset):
    utc = metrics.period_ending(NOW, 4, "UTC")
    chicago = metrics.period_ending(NOW, 4, "America/Chicago")
    assert chicago.starts[-1] == at(16, 6)  # Monday 00:00 CST
    assert [w[0] for w in chicago.week_labels()] == ["26 Oct", "2 Nov", "9 Nov", "16 Nov"]
    assert chicago.week_labels()[-1][1] == "2026-W47 (from Mon 16 Nov 2026)"
    # 16 Nov 09:00 UTC is 03:00 in Chicago: still the week of 16 Nov; 27 Oct 06:00 UTC is 01:00 on the 27th.
    assert [r.counts["started"] for r in metrics.funnel(chicago).by_week] == [1, 2, 2, 1]
    late = metrics.period_ending(at(16, 5), 4, "America/Chicago")  # Sunday night in Chicago
    assert late.starts[-1] == at(9, 6) and utc.starts[-1] == at(16)
    assert metrics.period_ending(NOW, 4, "Not/AZone") == utc


def test_dropoff_per_step(dataset):
    steps = metrics.step_dropoff(period(), [(s.id, s.title) for s in get_rules().assessment.sections]
                                 + [("contact", "Contact details")])
    assert [(s.id, s.done, s.stopped) for s in steps] == [
        ("about_you", 6, 0), ("safety", 5, 1), ("running", 4, 1), ("goals", 4, 0),
        ("injuries", 4, 0), ("self_tests", 4, 0), ("contact", 3, 1),
    ]
    assert steps[0].title == "About you"


def test_top_regions_and_flags(dataset):
    rules = get_rules()
    p = metrics.priorities(period(), {r.id: r.label for r in rules.regions.regions},
                           {f.id: f.label for f in rules.flags})
    assert p.completed == 3
    assert [(t.id, t.label, t.count) for t in p.regions] == [
        ("ankle_dorsiflexion", "Ankle dorsiflexion", 2), ("", "No clear priority", 1)]
    assert [(t.id, t.label, t.count) for t in p.flags] == [
        ("NO_STRENGTH_WORK", "No strength training", 2),
        ("PREVIOUS_INJURY_12M", "Injured in the last 12 months", 1),
        ("LEGACY", "Legacy flag", 1),  # not in the rules any more: the stored label
        ("TECHNICAL_TRAIL", "Technical trail running", 1),  # twice in one result, counted once
    ]


def test_median_hours_to_first_contact_per_coach(dataset):
    rows = metrics.first_contact(period())
    assert [(c.name, c.leads, c.contacted, c.waiting, c.median_hours) for c in rows] == [
        ("Sam Mobility", 3, 2, 1, 3.0),  # 2 h and 4 h (the task beat the later stage move); l3 waiting
        ("Alex Kin", 2, 1, 0, 17.0),  # straight to client after 17 h; the lost lead is not waiting
        ("Brian Owner", 0, 0, 0, None),
    ]


def test_empty_database_gives_zeros(team):
    report = metrics.insights_report(get_rules(), NOW, 12, "UTC")
    assert len(report.funnel.by_week) == 12 and report.funnel.by_source == []
    assert set(report.funnel.totals.values()) == {0}
    assert all(p is None for _, _, p in report.funnel.conversions)
    assert all(s.done == s.stopped == 0 for s in report.steps)
    assert report.priorities.regions == report.priorities.flags == []
    assert all(c.median_hours is None for c in report.first_contact)


@pytest.mark.parametrize("raw, weeks", [(None, 12), ("4", 4), ("26", 26), ("52", 52), ("abc", 12), ("7", 12),
                                        ("", 12), ("-4", 12), ("1e3", 12)])
def test_parse_weeks(raw, weeks):
    assert metrics.parse_weeks(raw) == weeks


def assert_inline_and_csp_safe(html: str) -> None:
    assert "<svg" in html and "<title" in html
    assert "style=" not in html and "<script" not in html.replace("&lt;script", "")
    assert not re.search(r'(?:src|href|xlink:href)="(?:https?:)?//', html)
    assert not re.search(r"url\(", html)


def test_owner_sees_the_page_with_inline_charts(db_app, team):
    now = utcnow()
    coach = team["sam"]
    evil = "<script>alert(1)</script>&co"
    submission(now - timedelta(hours=3), {"utm_source": evil}, top="ankle_dorsiflexion",
               flags=[{"id": "NO_STRENGTH_WORK", "label": "x"}])
    row = lead("p1@x.example", now - timedelta(hours=2), evil, coach)
    task(row, coach, "done", now - timedelta(hours=1))
    db.session.commit()
    web = sign_in(db_app, team["owner"])
    response = web.get("/dashboard/insights")
    assert response.status_code == 200
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert_inline_and_csp_safe(html)
    assert html.count('role="img"') == 9
    for text in ("Funnel by ISO week", "Leads by source", "Where unfinished assessments stopped",
                 "Ankle dorsiflexion", "No strength training", "Sam Mobility", "1.0 h", "How these numbers"):
        assert text in html, text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;co" in html and "<script>alert" not in html
    assert 'aria-current="page">Last 12 weeks' in html
    assert "No unfinished assessments" in html


def test_empty_page_says_no_data_yet(db_app, team):
    html = sign_in(db_app, team["owner"]).get("/dashboard/insights?weeks=4").get_data(as_text=True)
    assert_inline_and_csp_safe(html)
    assert html.count("No data yet") >= 9 and "No unfinished assessments" not in html
    assert "<table" not in html.split("By source")[1]  # no empty tables after the funnel's own
    assert 'aria-current="page">Last 4 weeks' in html
    assert html.count("(from Mon ") == 5  # the period line, and one row per week


def test_bad_weeks_fall_back_to_the_default(db_app, team):
    web = sign_in(db_app, team["owner"])
    for query in ("?weeks=abc", "?weeks=5", "?weeks=", "?weeks=99999999999999999999"):
        html = web.get(f"/dashboard/insights{query}").get_data(as_text=True)
        assert 'aria-current="page">Last 12 weeks' in html and html.count("(from Mon ") == 13


def test_coach_gets_403(db_app, team):
    assert sign_in(db_app, team["sam"]).get("/dashboard/insights").status_code == 403


def test_signed_out_goes_to_login(web):
    response = web.get("/dashboard/insights?weeks=4")
    assert response.status_code == 302
    assert "/auth/login?next=/dashboard/insights" in response.headers["Location"]
