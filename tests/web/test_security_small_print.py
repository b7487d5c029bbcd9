"""Security small print (issue 11 point 5): the captured-mail reader behind the owner's sign-in,
no-store on every page with personal or health data, 405s with ``Allow``, and links built from
``BASE_URL`` rather than the request's Host header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, OutboxMessage, StrategyRequest
from coachapp.rules_store import get_rules
from tests.conftest import ROOT, Browserish, make_config
from tests.helpers import CONTACT, DESK_ACHILLES, complete_assessment, walk_assessment
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_strategy import STRATEGY_FORM

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}  # what every visitor looks like behind a same-host proxy


def _message_id() -> int:
    complete_assessment(DESK_ACHILLES, "dana@example.com")
    return db.session.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "assessment_plan")).scalar_one()


# --- the captured-mail reader -----------------------------------------------------------------

def test_mailbox_sends_anonymous_visitors_to_sign_in_even_from_loopback(db_app):
    message_id = _message_id()
    client = db_app.test_client()
    for path in ("/outbox/", f"/outbox/{message_id}", f"/outbox/{message_id}/html"):
        response = client.get(path, environ_base=LOOPBACK)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/auth/login?next={path}"
        assert "dana@example.com" not in response.get_data(as_text=True)


def test_mailbox_is_the_owners_a_coach_is_refused(db_app):
    _message_id()
    coach = coach_with_password(db, email="sam@motive.example")
    response = sign_in(db_app, coach).get("/outbox/", environ_base=LOOPBACK)
    assert response.status_code == 403
    assert "dana@example.com" not in response.get_data(as_text=True)


def test_the_owner_signs_in_and_lands_on_the_mailbox(db_app):
    message_id = _message_id()
    owner = coach_with_password(db, email="olive@motive.example", is_owner=True)
    web = Browserish(db_app.test_client())
    web.get("/auth/login?next=/outbox/")
    response = web.post("/auth/login?next=/outbox/", {"email": owner.email, "password": "Correct-Horse-42-battery"})
    assert response.headers["Location"] == "/outbox/"
    page = web.get("/outbox/")
    assert page.status_code == 200 and f'href="/outbox/{message_id}"' in page.get_data(as_text=True)
    assert web.get(f"/outbox/{message_id}").status_code == 200


def test_mailbox_is_off_when_an_smtp_server_is_configured(app, database_url):
    from coachapp import create_app

    with_smtp = create_app(make_config(database_url, SMTP_URL="smtp://127.0.0.1:2525"))
    assert "mailbox" not in with_smtp.blueprints
    assert "mailbox" in app.blueprints  # the tests' app captures email
    with with_smtp.app_context():
        db.session.remove()
        db.engine.dispose()


# --- Cache-Control: no-store -------------------------------------------------------------------

def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


@pytest.fixture
def pages(db_app) -> dict:
    """One of everything: a finished assessment (lead, results, plan), one in progress at its
    contact screen, a strategy request, and the signed-in owner."""
    owner = coach_with_password(db, email="olive@motive.example", is_owner=True)
    web = sign_in(db_app, owner)
    done = walk_assessment(web, get_rules(), DESK_ACHILLES, contact=CONTACT)
    at_contact = walk_assessment(web, get_rules(), DESK_ACHILLES)
    assert web.post("/strategy-session", STRATEGY_FORM).status_code == 302
    lead = db.session.execute(select(Lead).where(Lead.email == "dana.runner@example.com")).scalar_one()
    request_token = db.session.execute(select(StrategyRequest.token)).scalars().first()
    first_step = get_rules().assessment.screens[0].id
    return {"web": web, "done": done, "at_contact": at_contact, "lead": lead.id, "request": request_token,
            "step": first_step, "message": db.session.execute(select(OutboxMessage.id)).scalars().first()}


DASHBOARD = ["/dashboard/", "/dashboard/leads", "/dashboard/leads?q=dana", "/dashboard/leads.csv",
             "/dashboard/leads/{lead}", "/dashboard/leads/{lead}/export.json", "/dashboard/pipeline",
             "/dashboard/outbox", "/dashboard/outbox/{message}", "/dashboard/insights", "/dashboard/coaches"]
PROSPECT = ["/assessment/{done}/results", "/assessment/{at_contact}/contact", "/assessment/{at_contact}/{step}",
            "/assessment/{done}/plan.ics", "/strategy-session", "/strategy-session?from_assessment={done}",
            "/strategy-session/thanks/{request}", "/assessment", "/outbox/", "/outbox/{message}"]


def _cached(pages, templates: list[str]) -> list[tuple[str, int, str | None]]:
    """The pages that are not 200 with ``no-store`` (and no public/max-age)."""
    wrong = []
    for template in templates:
        url = template.format(**pages)
        response = pages["web"].get(url)
        policy = response.headers.get("Cache-Control", "")
        if response.status_code != 200 or "no-store" not in policy or "public" in policy or "max-age" in policy:
            wrong.append((url, response.status_code, policy))
    return wrong


def test_dashboard_pages_and_exports_are_never_stored_by_a_cache(pages):
    assert _cached(pages, DASHBOARD) == []


def test_assessment_results_strategy_and_mailbox_pages_are_never_stored_by_a_cache(pages):
    assert _cached(pages, PROSPECT) == []
    plan = pages["web"].get(f"/assessment/{pages['done']}/plan.ics")
    assert {"private", "no-store"} <= {p.strip() for p in plan.headers["Cache-Control"].split(",")}


def test_redirects_errors_and_api_are_no_store_static_files_and_the_feed_keep_their_policy(pages):
    from coachapp.links import subscribe_urls

    web = pages["web"]
    assert _no_store(web.get(f"/assessment/{pages['done']}"))  # the resume link's redirect
    assert _no_store(web.get("/no-such-page"))
    api = web.client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES})
    assert api.status_code == 200 and _no_store(api)
    css = web.get("/static/app.css")
    css.close()
    assert css.status_code == 200 and not _no_store(css)
    feed = web.get(subscribe_urls(pages["lead"]).https.removeprefix("http://coach.test"))
    assert feed.status_code == 200
    assert {p.strip() for p in feed.headers["Cache-Control"].split(",")} == {"private", "max-age=900"}
    assert _no_store(web.post("/auth/logout"))


# --- 405 Method Not Allowed carries Allow ------------------------------------------------------

def test_405_page_says_which_methods_the_url_takes(db_app):
    client = db_app.test_client()
    response = client.post("/assessment")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "text/html" in response.headers["Content-Type"]
    assert client.delete("/dashboard/leads").headers["Allow"] == "GET, HEAD, OPTIONS"


def test_405_json_says_which_methods_the_url_takes(db_app):
    response = db_app.test_client().get("/api/v1/assessments")
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"
    assert response.get_json()["error"] == "method_not_allowed"


# --- links come from BASE_URL ------------------------------------------------------------------

def test_resume_link_on_a_step_page_comes_from_base_url_not_the_host_header(web):
    web.get("/assessment")
    start = web.post("/assessment/start")
    step_url = start.headers["Location"]
    token = step_url.split("/")[2]
    page = web.get(step_url, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f">http://coach.test/assessment/{token}</a>" in html
    assert "evil.example" not in html
    submission = db.session.execute(select(AssessmentSubmission).where(AssessmentSubmission.token == token))
    assert submission.scalar_one().completed_at is None


BUILT_FROM_REQUEST = re.compile(r"_external\s*=\s*True|request\.host_url|request\.url_root|request\.base_url")


def test_no_page_builds_an_absolute_link_from_the_request():
    """Absolute links come from ``coachapp.links.external_url`` (``BASE_URL``), in code and templates."""
    offenders = []
    for folder, pattern in ((ROOT / "coachapp", "*.py"), (ROOT / "templates", "*.html")):
        for path in sorted(Path(folder).rglob(pattern)):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0] if path.suffix == ".py" else line
                if BUILT_FROM_REQUEST.search(code):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
