"""Insights: exact funnel, drop-off, priority and first-contact numbers on known datasets
(SQLite and PostgreSQL), the visit counter behind the funnel's first step, and the owner-only
page with inline, CSP-safe charts that a phone can read."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coachapp.dashboard import funnel as funnels
from coachapp.dashboard import metrics
from coachapp.dashboard.period import Period, parse_weeks, period_ending
from coachapp.dashboard.sources import SourceNames, source_key
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, CoachTask, Lead, LeadEvent, PageVisit, StrategyRequest, utcnow
from coachapp.models.visit import ASSESSMENT_INTRO
from coachapp.rules_store import get_rules
from tests.helpers_dashboard import coach_with_password, sign_in

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday; 4 weeks = Mondays 26 Oct … 16 Nov
SECTIONS = ["about_you", "safety", "running", "goals", "injuries", "self_tests"]


def at(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def submission(started: datetime, touch: dict[str, Any], *, done: list[str] | None = None,
               current: str | None = None, top: str | None = None, flags: list[dict] | None = None,
               lead: Lead | None = None, channel: str = "web") -> None:
    """An assessment; ``flags`` given (even empty) means completed, 9 minutes after the start."""
    completed = flags is not None
    db.session.add(AssessmentSubmission(
        token=secrets.token_urlsafe(12), status="completed" if completed else "in_progress",
        first_touch=touch, started_at=started, updated_at=started, channel=channel,
        lead_id=lead.id if lead else None,
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


def request(row: Lead, when: datetime) -> None:
    """A strategy-session request."""
    db.session.add(StrategyRequest(token=secrets.token_urlsafe(12), lead_id=row.id, time_zone="UTC",
                                   created_at=when))


def visits(hour: datetime, source: str, count: int) -> None:
    db.session.add(PageVisit(hour=hour, page=ASSESSMENT_INTRO, source=source, count=count))


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


def period(weeks: int = 4, tz: str = "UTC") -> Period:
    return period_ending(NOW, weeks, tz)


@pytest.fixture
def mixed(team) -> dict[str, Any]:
    """Every way in, in the 4 weeks to NOW (weeks of 26 Oct, 2, 9 and 16 Nov), with "Instagram" spelled
    four ways: runners who only took the assessment, who took it then asked for a session (booked,
    client), who asked first, who came straight to the form, a coach's booking without a request,
    a runner who finished twice, an API submission, and rows outside the period that must not count."""
    visits(at(1, 9, month=10), "google", 5)  # before the period: visits were counted all along
    visits(at(2, 10), "Instagram", 4)
    visits(at(2, 11), "instagram", 3)
    visits(at(9, 10), " instagram ", 2)
    visits(at(9, 10), "google", 6)
    visits(at(16, 8), "direct", 5)
    visits(at(18, 13), "direct", 9)  # after NOW

    ana = lead("ana@x.example", at(2, 12), "Instagram")  # assessment only
    submission(at(2, 12), {"utm_source": "Instagram"}, flags=[], lead=ana)
    ben = lead("ben@x.example", at(2, 13), "instagram")  # assessment, request, booked, client
    submission(at(2, 13), {"utm_source": "instagram"}, flags=[], lead=ben)
    request(ben, at(3, 9))
    stage(ben, "new", "session_booked", at(4, 9))
    stage(ben, "session_booked", "client", at(6, 9))
    submission(at(10, 8), {"utm_source": "instagram"}, flags=[], lead=ben)  # added self-tests: still one runner
    cal = lead("cal@x.example", at(9, 11), " instagram ")  # assessment, request, booked, no-show
    submission(at(9, 11), {"utm_source": " instagram "}, flags=[], lead=cal)
    request(cal, at(9, 12))
    stage(cal, "new", "session_booked", at(10, 9))
    stage(cal, "session_booked", "no_show", at(12, 9))
    dee = lead("dee@x.example", at(9, 12), "google")  # assessment, request, not booked yet
    submission(at(9, 12), {"utm_source": "google"}, flags=[], lead=dee)
    request(dee, at(10))
    eve = lead("eve@x.example", at(16, 9), "direct")  # assessment; the coach called and booked, no request
    submission(at(16, 9), {}, flags=[], lead=eve)
    stage(eve, "new", "session_booked", at(17, 9))
    fay = lead("fay@x.example", at(3, 12), "INSTAGRAM")  # the form first, the assessment after; client
    request(fay, at(3, 12))
    submission(at(4, 9), {"utm_source": "Instagram"}, flags=[], lead=fay)
    stage(fay, "new", "client", at(5, 9))
    submission(at(2, 14), {"utm_source": "Instagram"}, done=["about_you"], current="safety")  # unfinished
    submission(at(16, 10), {}, done=[], current="about_you")  # unfinished

    gus = lead("gus@x.example", at(10, 9), "google")  # straight to the form, booked
    request(gus, at(10, 9))
    stage(gus, "new", "session_booked", at(11, 9))
    hal = lead("hal@x.example", at(17, 9), "facebook")  # straight to the form
    request(hal, at(17, 9))
    ivy = lead("ivy@x.example", at(20, month=10), "google")  # first asked before the period
    request(ivy, at(20, month=10))
    request(ivy, at(5, 9))
    kim = lead("kim@x.example", at(11, 9), "google", erased_at=at(12))  # erased
    request(kim, at(11, 9))
    lee = lead("lee@x.example", at(11, 9), "api")  # through the API: beside the funnel
    submission(at(11, 9), {"utm_source": "api"}, flags=[], lead=lee, channel="api")
    old = lead("old@x.example", at(20, month=10), "Instagram")  # started before the period, asked in it
    submission(at(20, month=10), {"utm_source": "Instagram"}, flags=[], lead=old)
    request(old, at(3, 9))
    db.session.commit()
    return team


def assert_a_true_funnel(row: dict[str, int]) -> None:
    for step, following in zip(funnels.STEPS[1:], funnels.STEPS[2:], strict=False):
        assert row[following] <= row[step], (step, following, row)


def test_funnel_is_a_true_funnel_with_exact_counts(mixed):
    f = funnels.funnel(period())
    assert {s: f.totals[s] for s in funnels.STEPS} == {
        "visits": 20, "started": 9, "finished": 6, "requested": 3, "booked": 2, "clients": 1}
    assert f.conversions == [("visits", "started", 45.0), ("started", "finished", 66.7),
                             ("finished", "requested", 50.0), ("requested", "booked", 66.7),
                             ("booked", "clients", 50.0)]
    assert all(share is not None and 0 <= share <= 100 for _, _, share in f.conversions)
    assert f.visits_cover_period and f.visits_since == at(1, 9, month=10)
    # Beside the funnel: Fay, Gus and Hal came to the form first (Ivy first asked before the period,
    # Kim is erased); Eve was booked without asking; Lee's assessment came through the API.
    assert {k: f.totals[k] for k in funnels.OUTSIDE} == {
        "direct_requests": 3, "direct_booked": 2, "direct_clients": 1,
        "unrequested_booked": 1, "unrequested_clients": 0, "api_started": 1}
    assert [[row.counts[s] for s in (*funnels.STEPS, "direct_requests")] for row in f.by_week] == [
        [0, 0, 0, 0, 0, 0, 0],  # 26 Oct
        [7, 4, 3, 1, 1, 1, 1],  # 2 Nov: Ana, Ben (client), Fay; one unfinished; Fay's request
        [8, 3, 2, 2, 1, 0, 1],  # 9 Nov: Cal (no-show), Dee; Ben's second run; Gus
        [5, 2, 1, 0, 0, 0, 1],  # 16 Nov: Eve; one unfinished; Hal
    ]
    for row in [*f.by_week, *f.by_source]:
        assert_a_true_funnel(row.counts)
        assert not row.counts["visits"] or row.counts["started"] <= row.counts["visits"]


def test_sources_are_merged_by_name(mixed):
    f = funnels.funnel(period())
    rows = {row.label: [row.counts[s] for s in (*funnels.STEPS, "direct_requests")] for row in f.by_source}
    assert rows == {
        "instagram": [9, 6, 4, 2, 2, 1, 1],  # Instagram, instagram, " instagram " and INSTAGRAM: one row
        "direct": [5, 2, 1, 0, 0, 0, 0],
        "google": [6, 1, 1, 1, 0, 0, 1],
        "facebook": [0, 0, 0, 0, 0, 0, 1],
        "api": [0, 0, 0, 0, 0, 0, 0],
    }
    assert [row.label for row in f.by_source] == ["instagram", "direct", "google", "facebook", "api"]
    assert f.by_source[0].key == "instagram" and f.by_source[0].started_to_client == 16.7
    assert f.by_source[-1].counts["api_started"] == 1


def test_source_names_merge_case_spaces_and_www():
    assert {source_key(raw) for raw in ("Instagram", "instagram", " instagram ", "INSTAGRAM", "www.instagram")} \
        == {"instagram"}
    assert source_key("") == source_key("  ") == source_key(None) == "direct"
    assert source_key("Run  Club") == "run club"
    names = SourceNames()
    for raw, weight in (("Instagram", 3), ("instagram", 2), (" instagram ", 2), ("Strava", 1), ("strava", 1)):
        names.add(raw, weight)
    assert names.labels() == {"instagram": "instagram", "strava": "Strava"}  # most common; a tie: capitalised


def test_visits_share_is_hidden_until_visits_cover_the_period(mixed):
    db.session.execute(PageVisit.__table__.delete().where(PageVisit.hour < at(26, month=10)))
    db.session.commit()
    f = funnels.funnel(period())
    assert not f.visits_cover_period and f.visits_since == at(2, 10)
    assert f.conversions[0] == ("visits", "started", None)
    db.session.execute(PageVisit.__table__.delete())
    db.session.commit()
    f = funnels.funnel(period())
    assert f.visits_since is None and f.totals["visits"] == 0 and f.conversions[0][2] is None
    assert f.conversions[1] == ("started", "finished", 66.7)


def test_weeks_follow_the_owners_time_zone(dataset):
    utc = period_ending(NOW, 4, "UTC")
    chicago = period_ending(NOW, 4, "America/Chicago")
    assert chicago.starts[-1] == at(16, 6)  # Monday 00:00 CST
    assert [w[0] for w in chicago.week_labels()] == ["26 Oct", "2 Nov", "9 Nov", "16 Nov"]
    assert chicago.week_labels()[-1][1] == "2026-W47 (from Mon 16 Nov 2026)"
    # 16 Nov 09:00 UTC is 03:00 in Chicago: still the week of 16 Nov; 27 Oct 06:00 UTC is 01:00 on the 27th.
    assert [r.counts["started"] for r in funnels.funnel(chicago).by_week] == [1, 2, 2, 1]
    late = period_ending(at(16, 5), 4, "America/Chicago")  # Sunday night in Chicago
    assert late.starts[-1] == at(9, 6) and utc.starts[-1] == at(16)
    assert period_ending(NOW, 4, "Not/AZone") == utc


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
    assert parse_weeks(raw) == weeks


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
    assert html.count('role="img"') == 14
    for text in ("Funnel for the period", "Assessments started by source", "Strategy-session requests by source",
                 "Where unfinished assessments stopped", "Requested without an assessment",
                 "Ankle dorsiflexion", "No strength training", "Sam Mobility", "1.0 h", "How these numbers"):
        assert text in html, text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;co" in html and "<script>alert" not in html
    assert 'aria-current="page">Last 12 weeks' in html
    assert "No unfinished assessments" in html


def test_empty_page_says_no_data_yet(db_app, team):
    html = sign_in(db_app, team["owner"]).get("/dashboard/insights?weeks=4").get_data(as_text=True)
    assert_inline_and_csp_safe(html)
    assert html.count("No data yet") >= 13 and "No unfinished assessments" not in html
    assert "Visits to the assessment page are counted from now on" in html
    assert "<table" not in html.split("By source")[1]  # no empty tables after the funnel's own
    assert 'aria-current="page">Last 4 weeks' in html
    assert html.count("(from Mon ") == 5  # the period line, and one row per week


SVG_RE = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)


def test_every_chart_reads_on_a_phone_and_has_a_table(db_app, mixed, monkeypatch):
    """At 390 CSS px a chart is about 330 px wide: a viewBox of at most 400 units scaled to that
    keeps 13-unit text at 12 px or more; nothing has a fixed pixel width; every section that
    draws a chart also gives its numbers as a table."""
    row = lead("pat@x.example", NOW - timedelta(days=1), "google", mixed["sam"])
    task(row, mixed["sam"], "done", NOW - timedelta(hours=20))
    db.session.commit()
    web = sign_in(db_app, mixed["owner"])
    monkeypatch.setattr("coachapp.dashboard.insights.utcnow", lambda: NOW)
    html = web.get("/dashboard/insights?weeks=4").get_data(as_text=True)
    charts = SVG_RE.findall(html)
    assert len(charts) == 14
    for svg in charts:
        opening = svg[: svg.index(">")]
        assert 'width="100%"' in opening and "height=" not in opening, opening
        width = float(re.search(r'viewBox="0 0 ([\d.]+) [\d.]+"', opening).group(1))
        assert width <= 400
        sizes = [float(size) for size in re.findall(r'<text[^>]* font-size="([\d.]+)"', svg)]
        assert sizes and min(sizes) * 330 / width >= 12
    sections = re.findall(r'<section class="card".*?</section>', html, re.S)
    assert len(sections) == 4
    for section in sections:
        assert section.count("<svg") and "<table" in section
    funnel_table = html.split("Funnel for the period</caption>")[1].split("</table>")[0]
    shares = [float(v) for v in re.findall(r"<td>([\d.]+)%</td>", funnel_table)]
    assert shares == [45.0, 66.7, 50.0, 66.7, 50.0]
    beside = html.split("Beside the funnel (not in it)</caption>")[1].split("</table>")[0]
    assert "<th scope=\"row\">Requested without an assessment</th><td>3</td>" in beside


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
