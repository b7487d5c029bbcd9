"""Embedding on the coach's site (issue 13 point 4): which pages may be framed and by whom, the
session cookie in a third-party frame, the ``?embed=1`` flag through the whole flow, the host
page and UTM in the first touch, cross-site POSTs refused, CSRF still enforced, the owner's page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from coachapp.embedding import EmbedConfigError, parse_origins
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, StrategyRequest
from coachapp.rules_store import get_rules
from tests.conftest import Browserish, clean_tables, dispose, make_config
from tests.helpers import CONTACT, DESK_ACHILLES, screen_form
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_strategy import STRATEGY_FORM

SITE = "https://coach-site.example"
APP = "https://coach.test"
HOST_PAGE = f"{SITE}/running/assessment?utm_source=instagram&utm_campaign=spring"
EMBEDDABLE = ("/assessment", "/", "/strategy-session")
NEVER_FRAMED = ("/auth/login", "/dashboard/", "/outbox/")


@pytest.fixture
def embed_app(app, database_url) -> Iterator:
    """The tests' database with embedding on, served over https (as it must be to embed)."""
    from coachapp import create_app

    embedding = create_app(make_config(database_url, EMBED_ORIGINS=f"{SITE}, http://localhost:8080",
                                       BASE_URL=APP))
    clean_tables(embedding)
    with embedding.app_context():
        yield embedding
        db.session.remove()
    dispose(embedding)


def _client(application) -> Browserish:
    return Browserish(application.test_client())


def _https(path: str) -> dict:
    """What a browser sends with a form POST from the app's own page over https."""
    return {"base_url": APP, "headers": {"Referer": f"{APP}{path}", "Origin": APP}}


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


# --- EMBED_ORIGINS ---------------------------------------------------------------------------

def test_origins_are_normalised_and_deduplicated():
    assert parse_origins("") == () and parse_origins(None) == ()
    assert parse_origins(" https://Coach-Site.example/ ,https://coach-site.example:443, http://localhost:8080") == (
        "https://coach-site.example", "http://localhost:8080")
    assert parse_origins(["https://a.example:8443"]) == ("https://a.example:8443",)


@pytest.mark.parametrize("bad", ["https://coach-site.example/embed", "*.coach-site.example", "https://*.example",
                                 "coach-site.example", "ftp://coach-site.example", "https://user@site.example",
                                 "https://site.example?x=1", "https://site.example:99999", "https://"])
def test_a_bad_origin_stops_the_app_with_a_clear_message(bad, monkeypatch, database_url):
    from coachapp import create_app

    with pytest.raises(EmbedConfigError, match="EMBED_ORIGINS: .* is not an origin"):
        parse_origins(f"https://fine.example,{bad}")
    monkeypatch.setenv("EMBED_ORIGINS", bad)
    with pytest.raises(EmbedConfigError, match="expected e.g. https://coach-site.example"):
        create_app(make_config(database_url))


def test_production_takes_https_sites_only():
    from coachapp.config import production_problems

    config = {"SECRET_KEY": "k" * 40, "BASE_URL": APP}
    assert production_problems({**config, "EMBED_ORIGINS": (SITE,)}) == []
    problems = production_problems({**config, "EMBED_ORIGINS": (SITE, "http://coach-site.example")})
    assert problems == ["EMBED_ORIGINS must list https:// sites only (a page served over http can be altered on "
                        "the way, and the frame's cookie is Secure), not http://coach-site.example"]


# --- who may frame what ----------------------------------------------------------------------

def _frame_ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors"))


def test_without_embed_origins_no_page_may_be_framed(db_app):
    client = db_app.test_client()
    for path in (*EMBEDDABLE, *NEVER_FRAMED):
        response = client.get(path)
        assert _frame_ancestors(response) == "frame-ancestors 'none'", path
        assert response.headers["X-Frame-Options"] == "DENY", path
    page = client.get("/assessment?embed=1").get_data(as_text=True)
    assert 'class="site-header"' in page and "embed-frame.js" not in page  # the flag means nothing when off


def test_the_embeddable_pages_name_the_allowed_sites_and_nothing_else_does(embed_app):
    client = embed_app.test_client()
    for path in EMBEDDABLE:
        response = client.get(path + "?embed=1", base_url=APP)
        assert _frame_ancestors(response) == f"frame-ancestors 'self' {SITE} http://localhost:8080", path
        assert "X-Frame-Options" not in response.headers, path
    for path in NEVER_FRAMED:
        response = client.get(path, base_url=APP)
        assert _frame_ancestors(response) == "frame-ancestors 'none'", path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_the_whole_assessment_and_strategy_flow_is_frameable(embed_app):
    web = _client(embed_app)
    token, visited = _walk_embedded(web)
    for url in visited:
        response = web.client.get(url, base_url=APP)
        assert "X-Frame-Options" not in response.headers and SITE in _frame_ancestors(response), url


# --- the session cookie ----------------------------------------------------------------------

def _session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_embedding_over_https_makes_the_session_cookie_samesite_none_and_secure(embed_app):
    cookie = _session_cookie(embed_app.test_client().get("/assessment?embed=1", base_url=APP))
    assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "Partitioned" in cookie  # kept by browsers that block other third-party cookies (CHIPS)


@pytest.mark.parametrize(("origins", "base_url", "secure"), [
    ("", "https://coach.test", True),  # embedding off: Lax, as before
    (SITE, "http://127.0.0.1:5000", False),  # plain http (local): SameSite=None needs Secure, so Lax
])
def test_otherwise_the_cookie_stays_lax(app, database_url, origins, base_url, secure):
    from coachapp import create_app

    other = create_app(make_config(database_url, EMBED_ORIGINS=origins, BASE_URL=base_url,
                                   SESSION_COOKIE_SECURE=secure))
    clean_tables(other)
    try:
        with other.app_context():
            cookie = _session_cookie(other.test_client().get("/assessment", base_url=base_url))
        assert "SameSite=Lax" in cookie and "Partitioned" not in cookie
        assert ("Secure" in cookie) is secure
    finally:
        dispose(other)


# --- the flag through the flow, and the first touch -------------------------------------------

def _walk_embedded(web, host: str = HOST_PAGE, referrer: str = f"{SITE}/") -> tuple[str, list[str]]:
    """The assessment inside the frame, following every link and redirect as given; returns the
    token and the URLs seen (each must keep ``embed=1``)."""
    rules = get_rules()
    from urllib.parse import urlencode

    intro = "/assessment?" + urlencode({"embed": "1", "host": host, "utm_source": "instagram",
                                        "utm_campaign": "spring"})
    page = web.get(intro, base_url=APP, headers={"Referer": referrer}).get_data(as_text=True)
    assert 'class="site-header"' not in page and "embed-frame.js" in page
    action = page.split('<form method="post" action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert _query(action)["embed"] == ["1"] and _query(action)["host"] == [host]
    response = web.post(action, **_https(intro))
    visited = [intro]
    location = response.headers["Location"]
    token = urlsplit(location).path.split("/")[2]
    for _ in range(80):
        assert _query(location).get("embed") == ["1"], location
        visited.append(location)
        step_id = urlsplit(location).path.rstrip("/").split("/")[-1]
        if step_id == "results":
            break
        page = web.get(location, base_url=APP).get_data(as_text=True)
        assert 'class="site-header"' not in page, location
        if step_id == "contact":
            data = {"time_zone": "America/Chicago", "nav": "next",
                    **{k: ("y" if v is True else v) for k, v in CONTACT.items()}}
        elif step_id == "self-tests":
            data = {"nav": "skip"}
        else:
            assert f'/assessment/{token}?embed=1"' in page  # the resume link stays in the frame
            data = {**screen_form(rules.assessment.screen(step_id), DESK_ACHILLES), "nav": "next"}
        response = web.post(location, data, **_https(location))
        assert response.status_code == 302, (step_id, response.get_data(as_text=True)[:2000])
        location = response.headers["Location"]
    results = web.get(location, base_url=APP).get_data(as_text=True)
    assert 'plan.ics" target="_blank" rel="noopener"' in results  # the calendar leaves the frame
    strategy = results.split('class="button primary big" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert _query(strategy)["embed"] == ["1"] and _query(strategy)["from_assessment"] == [token]
    visited.append(strategy)
    return token, visited


def test_the_flag_survives_the_flow_and_the_host_page_is_the_first_touch(embed_app):
    web = _client(embed_app)
    token, _ = _walk_embedded(web)
    lead = db.session.execute(select(Lead)).scalar_one()
    assert lead.landing_page == HOST_PAGE
    assert (lead.source, lead.utm_campaign) == ("instagram", "spring")
    assert lead.referrer == f"{SITE}/"  # what the frame's request says, as for any page
    submission = db.session.execute(select(AssessmentSubmission)).scalar_one()
    assert submission.first_touch["landing_page"] == HOST_PAGE and submission.token == token


def test_the_strategy_session_keeps_the_flag_and_the_host_page(embed_app):
    web = _client(embed_app)
    url = f"/strategy-session?embed=1&host={SITE}/book&utm_source=newsletter"
    page = web.get(url, base_url=APP).get_data(as_text=True)
    assert 'class="site-header"' not in page and 'action="/strategy-session?embed=1"' in page
    response = web.post("/strategy-session?embed=1", STRATEGY_FORM, **_https(url))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("?embed=1")
    thanks = web.get(response.headers["Location"], base_url=APP).get_data(as_text=True)
    assert 'class="site-header"' not in thanks and 'href="/assessment?embed=1"' in thanks
    request_row = db.session.execute(select(StrategyRequest)).scalar_one()
    assert request_row.first_touch["landing_page"] == f"{SITE}/book"
    assert request_row.first_touch["utm_source"] == "newsletter"


@pytest.mark.parametrize(("host", "landing"), [
    ("https://elsewhere.example/page", "https://coach.test/assessment?embed=1"),  # not an allowed site
    ("javascript:alert(1)", "https://coach.test/assessment?embed=1"),
    (f"{SITE}/a%01b%7Fc", f"{SITE}/abc"),  # control characters removed at the edge
    (f"{SITE}/" + "x" * 900, f"{SITE}/" + "x" * (500 - len(SITE) - 1)),  # capped like any landing page
])
def test_a_host_parameter_is_only_believed_for_an_allowed_site(embed_app, host, landing):
    from urllib.parse import quote

    client = embed_app.test_client()
    client.get(f"/assessment?embed=1&host={quote(host, safe='/:%')}", base_url=APP)
    with client.session_transaction(base_url=APP) as session:
        touch = session["first_touch"]
    assert touch["landing_page"].startswith(landing)
    assert len(touch["landing_page"]) <= 500


# --- CSRF and the Origin check ---------------------------------------------------------------

def test_a_post_from_another_site_is_refused_even_with_a_valid_token(embed_app):
    web = _client(embed_app)
    web.get("/assessment?embed=1", base_url=APP)
    for origin in ("https://evil.example", SITE, "null"):  # an allowed host page may frame, not post
        response = web.post("/assessment/start?embed=1", base_url=APP,
                            headers={"Origin": origin, "Referer": f"{APP}/assessment"})
        assert response.status_code == 403, origin
    assert _count(AssessmentSubmission) == 0
    ok = web.post("/assessment/start?embed=1", **_https("/assessment?embed=1"))
    assert ok.status_code == 302 and _count(AssessmentSubmission) == 1


def test_the_dashboard_refuses_a_cross_site_post_too(embed_app):
    owner = coach_with_password(db, email="olive@motive.example", is_owner=True)
    web = sign_in(embed_app, owner)
    web.get("/dashboard/coaches")
    response = web.post("/dashboard/coaches", {"name": "Mallory"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_csrf_still_holds_and_an_embedded_failure_offers_a_new_tab(embed_app):
    client = embed_app.test_client()  # no page seen first: as when the browser keeps no cookie in frames
    host = f"{SITE}/run"
    response = client.post(f"/assessment/start?embed=1&host={host}&utm_source=ig", base_url=APP,
                           headers={"Origin": APP, "Referer": f"{APP}/assessment?embed=1"})
    assert response.status_code == 400 and _count(AssessmentSubmission) == 0
    page = response.get_data(as_text=True)
    link = page.split('class="button primary" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert urlsplit(link).path == "/assessment" and "embed" not in _query(link)
    assert _query(link)["host"] == [host] and _query(link)["utm_source"] == ["ig"]
    assert 'target="_blank"' in page
    # The same page opens at the top level (no flag), where its cookie is first-party.
    top = client.get(link, base_url=APP).get_data(as_text=True)
    assert 'class="site-header"' in top


def test_a_step_posted_without_a_token_fails_and_offers_the_same_step_in_a_new_tab(embed_app):
    web = _client(embed_app)
    web.get("/assessment?embed=1", base_url=APP)
    location = web.post("/assessment/start?embed=1", **_https("/assessment?embed=1")).headers["Location"]
    response = embed_app.test_client().post(location, data={"nav": "next"}, **_https(location))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'href="{urlsplit(location).path}" target="_blank"' in page


# --- the owner's page and the scripts ---------------------------------------------------------

def test_the_owner_gets_the_snippets_with_the_apps_address(embed_app):
    owner = coach_with_password(db, email="olive@motive.example", is_owner=True)
    web = sign_in(embed_app, owner)
    page = web.get("/dashboard/settings/embed").get_data(as_text=True)
    assert SITE in page and "EMBED_ORIGINS" in page
    assert f'&lt;script src=&#34;{APP}/static/embed.js&#34; async&gt;' in page
    assert "data-coachapp-embed=&#34;assessment&#34;" in page and "data-coachapp-embed=&#34;strategy&#34;" in page
    assert f"{APP}/strategy-session?embed=1" in page and "&lt;noscript&gt;" in page
    assert 'href="/dashboard/settings/embed"' in web.get("/dashboard/").get_data(as_text=True)


def test_a_coach_may_not_see_the_embed_settings(embed_app):
    coach = coach_with_password(db, email="sam@motive.example")
    web = sign_in(embed_app, coach)
    assert web.get("/dashboard/settings/embed").status_code == 403
    assert "/dashboard/settings/embed" not in web.get("/dashboard/").get_data(as_text=True)
    anonymous = _client(embed_app).get("/dashboard/settings/embed")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_with_embedding_off_the_page_says_so(db_app):
    owner = coach_with_password(db, email="olive@motive.example", is_owner=True)
    page = sign_in(db_app, owner).get("/dashboard/settings/embed").get_data(as_text=True)
    assert "Embedding is off" in page


def test_the_scripts_are_static_files_of_the_app(embed_app):
    client = embed_app.test_client()
    for name in ("embed.js", "embed-frame.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and "coachapp:height" in response.get_data(as_text=True)
        response.close()
