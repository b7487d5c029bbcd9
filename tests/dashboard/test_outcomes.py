"""Insights → Outcomes on a seeded data set with known outcomes (SQLite and PostgreSQL): exact tables,
intervals and calibration; "too few leads to say"; the CSV's content and escaping; owner only; no data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from coachapp.analytics.stats import CSV_HEADER, OVERLAP, Counts, wilson
from coachapp.dashboard.outcome_report import cached_report, outcomes_report
from coachapp.dashboard.outcomes import NO_TIER
from coachapp.extensions import db
from coachapp.leads.priority import TIERS
from coachapp.models import Lead, LeadEvent, StrategyRequest, utcnow
from coachapp.rules_store import get_rules
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_outcomes import expected, seed, specs, tally

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
N = 3000


@pytest.fixture
def seeded(db_app):
    rows = specs(N, NOW)
    seed(rows)
    return rows


def test_a_seeded_set_gives_exactly_the_expected_tables(seeded):
    want = expected(seeded)
    steps = tally(seeded)
    assert steps["leads"] == N - 31 - 33  # 31 created before the period, 33 more erased (i = 0 is both)
    assert 0 < steps["clients"] < steps["attended"] < steps["booked"] < steps["requested"] < steps["leads"]
    report = outcomes_report(get_rules(), NOW, 4)

    assert report.total.counts == want["all"]["all"]
    assert report.assessed == sum(c.leads for k, c in want["priority"].items() if k is not None)
    assert {r.key: r.counts for r in report.tiers} == want["tier"]
    assert [r.key for r in report.tiers] == [t for t in (*TIERS, NO_TIER) if t in want["tier"]]  # in tier order
    assert {r.key: r.counts for r in report.sources} == want["source"]
    assert {r.key for r in report.sources} == {"google", "instagram", "direct", "strava.com"}  # merged by name
    assert {None if r.key == "none" else r.key: r.counts for r in report.priorities} == want["priority"]
    assert {r.key: r.counts for r in report.flags} == want["flag"]
    answers = {(t.question.id, r.key): r.counts for t in report.answers for r in t.rows}
    assert answers == want["answer"]  # only the core questions with options (weekly_km is a number)
    hm = next(t for t in report.answers if t.question.id == "hm_5pq")
    assert [r.label for r in hm.rows] == ["I can now (or once could) put my palms flat on the floor without bending "
                                          "my knees", "I can now (or once could) bend my thumb back to touch my "
                                          "forearm", "None ticked"]  # the rules' order; an empty checklist last
    assert all(t.rows == [] for t in report.answers if t.question.id == "sex")

    # every rate is the Wilson interval of its own counts, each step over the step before
    for row in [report.total, *report.tiers, *report.sources, *report.flags]:
        c = row.counts
        for step, (k, n) in {"requested": (c.requested, c.leads), "booked": (c.booked, c.requested),
                             "attended": (c.attended, c.booked), "clients": (c.clients, c.attended)}.items():
            r = row.steps[step]
            assert (r.successes, r.trials) == (k, n)
            assert r.interval == (wilson(k, n) if n >= 20 else None)
        assert row.overall.interval == (wilson(c.clients, c.leads) if c.leads >= 20 else None)


def test_the_calibration_orders_the_tiers_and_says_which_differ(seeded):
    want = expected(seeded)["tier"]
    report = outcomes_report(get_rules(), NOW, 4)
    rows = report.calibration
    assert [r.tier for r in rows] == [t for t in (*TIERS, NO_TIER) if t in want]
    by = {r.tier: r for r in rows}
    for tier, counts in want.items():
        assert by[tier].counts == counts
        assert by[tier].clients.interval == wilson(counts.clients, counts.leads)
        assert by[tier].booked.interval == wilson(counts.booked, counts.leads)
    # built so: A1 36 % of its leads become clients, C3 4 %; neighbours 4 points apart overlap, A1 and C3 do not
    assert by["A1"].clients.interval.low > by["C3"].clients.interval.high
    assert by["A1"].next_tier == "A2" and by["A1"].versus_next == OVERLAP
    assert by["C3"].next_tier is None and by[NO_TIER].versus_next is None
    assert by[NO_TIER].counts.leads == sum(1 for s in seeded if s.counted and s.extra["untiered"] and s.booked)
    assert by["C3"].label.startswith("C3: not much of a fit yet")


def test_the_tier_after_booking_is_not_the_prediction(db_app):
    """One lead: B2 when it asked, A1 after it booked (a booking raises engagement) → counted as B2."""
    lead = Lead(email="b2@x.example", email_display="b2@x.example", source="google", stage="client", tier="A1",
                created_at=NOW - timedelta(days=3), updated_at=NOW)
    db.session.add(lead)
    db.session.flush()
    for when, kind, data in [(2, "priority", {"tier": "B2"}),
                             (1, "stage", {"before": "new", "after": "session_booked"}),
                             (1, "priority", {"tier": "A1"}),
                             (0, "stage", {"before": "session_booked", "after": "client"})]:
        db.session.add(LeadEvent(lead_id=lead.id, kind=kind, summary=kind, data=data,
                                 created_at=NOW - timedelta(days=when, hours=1)))
    db.session.commit()
    report = outcomes_report(get_rules(), NOW, 4)
    assert [(r.key, r.counts) for r in report.tiers] == [("B2", Counts(1, 1, 1, 1, 1))]


def test_too_few_leads_to_say_under_the_minimum(db_app):
    for i in range(25):  # 19 from instagram (under 20), 6 direct; 20 … 25 of all leads
        db.session.add(Lead(email=f"r{i}@x.example", email_display="r", source="instagram" if i < 19 else "direct",
                            stage="client" if i % 5 == 0 else "new", created_at=NOW - timedelta(days=2),
                            updated_at=NOW))
    db.session.commit()
    report = outcomes_report(get_rules(), NOW, 4)
    instagram = next(r for r in report.sources if r.key == "instagram")
    assert instagram.counts == Counts(19, 4, 4, 4, 4)
    assert not instagram.overall.enough and not instagram.steps["requested"].enough
    assert report.total.counts.leads == 25 and report.total.overall.interval == wilson(5, 25)
    assert not report.total.steps["booked"].enough  # 5 requested: too few for the next step


def test_the_page_shows_the_tables_to_the_owner_and_a_coach_gets_403(db_app):
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True)
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example")
    seed(specs(400, utcnow()))
    web = sign_in(db_app, owner)
    page = web.get("/dashboard/insights/outcomes?weeks=4")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("Does the tier predict who becomes a client?", "By source", "By top priority", "By flag",
                 "By answer", "Are you training for an event?", "Marathon", "too few leads to say", "95% interval",
                 "Download these tables (CSV)", "rules/insights.yaml"):
        assert text in html, text
    assert web.get("/dashboard/insights/outcomes?weeks=banana").status_code == 200  # the default period
    assert 'href="/dashboard/insights/outcomes?weeks=12"' in web.get("/dashboard/insights").get_data(as_text=True)

    coach = sign_in(db_app, sam)
    assert coach.get("/dashboard/insights/outcomes").status_code == 403
    assert coach.get("/dashboard/insights/outcomes.csv").status_code == 403


def test_the_csv_holds_every_table_with_formulas_neutralised(db_app):
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True)
    created = utcnow() - timedelta(days=1)
    leads = [Lead(email=f"f{i}@x.example", email_display="f", source='=HYPERLINK("http://x.example")',
                  stage="session_held" if i < 6 else "new", created_at=created, updated_at=created) for i in range(30)]
    db.session.add_all(leads)
    db.session.flush()
    db.session.add(StrategyRequest(lead_id=leads[0].id, token="t", time_zone="UTC", created_at=created))
    db.session.commit()
    answer = sign_in(db_app, owner).get("/dashboard/insights/outcomes.csv?weeks=4")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="outcomes-')
    assert answer.headers["Content-Disposition"].endswith('-last-4-weeks.csv"')
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == list(CSV_HEADER)
    records = [dict(zip(CSV_HEADER, r, strict=True)) for r in rows[1:]]
    source = next(r for r in records if r["table"] == "source")
    assert source["group"] == "'=HYPERLINK(\"http://x.example\")"  # a formula is text in a spreadsheet
    assert (source["leads"], source["requested"], source["booked"], source["attended"], source["clients"]) == (
        "30", "6", "6", "6", "0")
    low, high = wilson(6, 30).low, wilson(6, 30).high
    assert (source["requested % of leads"], source["requested % of leads (95% low)"],
            source["requested % of leads (95% high)"]) == ("20.0", f"{100 * low:.1f}", f"{100 * high:.1f}")
    assert source["booked % of requested"] == "too few leads to say"
    assert [r["table"] for r in records][:3] == ["all leads", "tier", "source"]
    assert any(r["table"] == "calibration" for r in records)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_no_data_says_so(db_app):
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True)
    web = sign_in(db_app, owner)
    page = web.get("/dashboard/insights/outcomes")
    assert page.status_code == 200
    assert "No leads in this period yet" in page.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(web.get("/dashboard/insights/outcomes.csv").get_data(as_text=True))))
    assert rows[0] == list(CSV_HEADER) and rows[1][:8] == ["all leads", "All leads", "", "0", "0", "0", "0", "0"]
    report = outcomes_report(get_rules(), NOW, 4)
    assert report.empty and report.calibration == [] and report.tiers == [] and report.flags == []


def _lead(i: int, when: datetime, stage: str = "new") -> Lead:
    return Lead(email=f"s{i}@x.example", email_display="s", source="google", stage=stage, created_at=when,
                updated_at=when)


def test_page_views_reuse_the_counts_for_the_snapshot_minutes_then_count_again(db_app):
    rules = get_rules()
    db.session.add_all([_lead(i, NOW - timedelta(days=1)) for i in range(3)])
    db.session.commit()
    first = cached_report(rules, NOW, 4)
    db.session.commit()
    assert first.total.counts.leads == 3 and first.computed_at == NOW
    db.session.add(_lead(9, NOW - timedelta(days=1), stage="client"))
    db.session.commit()
    minutes = rules.insights.snapshot_minutes
    reused = cached_report(rules, NOW + timedelta(minutes=minutes - 1), 4)
    assert reused.total.counts.leads == 3 and reused.computed_at == NOW  # the stored counts
    assert cached_report(rules, NOW + timedelta(minutes=1), 4) is reused  # built once per snapshot
    recounted = cached_report(rules, NOW + timedelta(minutes=minutes), 4)
    assert recounted.total.counts == Counts(4, 1, 1, 1, 1) and recounted.computed_at > NOW
    db.session.commit()
    other_zone = cached_report(rules, NOW + timedelta(minutes=minutes), 4, "Europe/Berlin")
    assert other_zone.period.tz == "Europe/Berlin" and other_zone.total.counts.leads == 4


def test_count_again_now_is_a_post_for_the_owner(db_app):
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True)
    web = sign_in(db_app, owner)
    assert "No leads in this period yet" in web.get("/dashboard/insights/outcomes?weeks=4").get_data(as_text=True)
    db.session.add(_lead(1, utcnow() - timedelta(days=1)))
    db.session.commit()
    assert "No leads in this period yet" in web.get("/dashboard/insights/outcomes?weeks=4").get_data(as_text=True)
    answer = web.post("/dashboard/insights/outcomes", {"weeks": "4"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/dashboard/insights/outcomes?weeks=4")
    html = web.get("/dashboard/insights/outcomes?weeks=4").get_data(as_text=True)
    assert "No leads in this period yet" not in html and "1 leads, 0 of them with a finished assessment" in html
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example")
    coach = sign_in(db_app, sam)
    coach.get("/dashboard/")  # a page with a form: a fresh CSRF token
    assert coach.post("/dashboard/insights/outcomes", {"weeks": "4"}).status_code == 403


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_fills_flag_ids_from_stored_results(tmp_path, backend):
    """Assessments completed before flag_ids existed get them from their result (1a9f75ac1bc2)."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from coachapp import create_app
    from tests.conftest import POSTGRES_URL, PostgresDatabase, dispose, make_config, require

    scratch = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    else:
        require(POSTGRES_URL, "PostgreSQL")
        scratch = PostgresDatabase(POSTGRES_URL)
        url = scratch.create()
    app = create_app(make_config(url))
    try:
        with app.app_context():
            upgrade(revision="e5b7a9c3d210")
            insert = text("INSERT INTO assessment_submissions (token, status, channel, answers, steps_done, "
                          "first_touch, started_at, updated_at, result) VALUES (:token, :status, 'web', '{}', "
                          "'[]', '{}', :at, :at, :result)")
            with db.engine.begin() as conn:
                for token, status, result in [
                    ("two", "completed", '{"flags": [{"id": "HYPERMOBILE", "label": "x"}, '
                                         '{"id": "NO_STRENGTH_WORK"}]}'),
                    ("none", "completed", '{"flags": []}'),
                    ("open", "in_progress", None)]:
                    conn.execute(insert, {"token": token, "status": status, "at": NOW, "result": result})
            upgrade()
            with db.engine.connect() as conn:
                found = dict(conn.execute(text("SELECT token, flag_ids FROM assessment_submissions")).all())
        assert {k: json.loads(v) if isinstance(v, str) else v for k, v in found.items()} == {
            "two": ["HYPERMOBILE", "NO_STRENGTH_WORK"], "none": [], "open": None}
    finally:
        dispose(app)
        if scratch is not None:
            scratch.drop()


def test_the_insights_report_survives_its_snapshot_and_is_reused(seeded):
    """The funnel page's report stored as JSON comes back equal; a view within the snapshot's
    minutes reuses it; "count again" counts up to its own moment."""
    from coachapp.dashboard import metrics
    from coachapp.dashboard.insights_snapshot import cached_insights_report, decode, encode

    rules = get_rules()
    counted = metrics.insights_report(rules, NOW, 4, "Europe/Berlin")
    assert counted.funnel.totals["finished"] > 0 and counted.priorities.flags
    assert decode(json.loads(json.dumps(encode(counted)))) == counted
    first, at = cached_insights_report(rules, NOW, 4, "Europe/Berlin")
    db.session.commit()
    assert first == counted and at == NOW
    later = NOW + timedelta(minutes=rules.insights.snapshot_minutes - 1)
    assert cached_insights_report(rules, later, 4, "Europe/Berlin") == (counted, NOW)
    again, at = cached_insights_report(rules, later, 4, "Europe/Berlin", recount=True)
    assert at == later and again.period.end == later and counted.period.end == NOW  # counted again, up to then


def test_the_funnel_page_can_count_again_too(db_app):
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True)
    web = sign_in(db_app, owner)
    page = web.get("/dashboard/insights?weeks=4").get_data(as_text=True)
    assert "Count again now" in page and "10 minutes, then counted again" in page
    answer = web.post("/dashboard/insights", {"weeks": "4"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/dashboard/insights?weeks=4")
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example")
    coach = sign_in(db_app, sam)
    coach.get("/dashboard/")
    assert coach.post("/dashboard/insights", {"weeks": "4"}).status_code == 403
