"""The hostile inputs from issue 11, one by one: each once gave a 500 (or poisoned a session)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import CONTACT, DESK_ACHILLES
from tests.hostile.support import assert_nothing_invalid_stored, ready_for_contact

API = "/api/v1/assessments"


def _lead(app):
    from coachapp.extensions import db
    from coachapp.models import Lead

    with app.app_context():
        lead = db.session.execute(select(Lead)).scalar_one()
        db.session.expunge(lead)
        return lead


def _contact(name: str = "Dana", email: str = "dana@example.com") -> dict[str, str]:
    return {"first_name": name, "email": email, "consent_health": "y", "time_zone": "America/Chicago"}


@pytest.mark.parametrize("path", [
    "/assessment/%00", "/assessment/abc%00/results", "/assessment/x/%01", "/strategy-session/thanks/%00",
    "/unsubscribe/%00", "/calendar/%00.ics", "/assessment/%C2%80", "/dashboard/leads/%00",
])
def test_a_control_character_in_the_path_is_a_400_page(fuzz_app, path):
    response = fuzz_app.test_client().get(path)
    assert response.status_code == 400
    assert "characters that are not allowed" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_a_control_character_in_an_api_path_is_a_json_400(fuzz_app):
    response = fuzz_app.test_client().post("/api/v1/assess%00ments", json={})
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("header", ["Referer", "User-Agent", "Host", "Accept-Language", "X-Forwarded-For"])
def test_a_control_character_in_a_header_is_a_400(fuzz_app, header):
    response = fuzz_app.test_client().get("/assessment", headers={header: "a\x00b"})
    assert response.status_code == 400


def test_nul_in_a_utm_parameter_is_dropped_and_the_browser_can_still_complete(fuzz_app):
    client = fuzz_app.test_client()
    assert client.get("/assessment?utm_source=%00ads&utm_medium=e%01mail&utm_campaign=%00").status_code == 200
    with client.session_transaction() as session:
        touch = session["first_touch"]
    assert touch["utm_source"] == "ads" and touch["utm_medium"] == "email" and "utm_campaign" not in touch
    started = client.post("/assessment/start")
    assert started.status_code == 302
    token = ready_for_contact(fuzz_app, token=started.headers["Location"].split("/")[2])
    assert client.post(f"/assessment/{token}/contact", data=_contact()).status_code == 302
    assert _lead(fuzz_app).source == "ads"
    assert client.post("/strategy-session", data={}).status_code == 422  # the form, not a 500
    assert_nothing_invalid_stored(fuzz_app)


def test_a_session_poisoned_before_the_fix_is_repaired(fuzz_app):
    client = fuzz_app.test_client()
    with client.session_transaction() as session:
        session["first_touch"] = {"utm_source": "\x00", "utm_medium": "news\x00letter", "referrer": "\x00",
                                  "landing_page": "http://coach.test/?utm_source=\x00", "at": "\x00"}
    token = ready_for_contact(fuzz_app)
    assert client.get("/assessment").status_code == 200  # the intro page counts the visit too
    assert client.post("/assessment/start").status_code == 302
    assert client.post(f"/assessment/{token}/contact", data=_contact()).status_code == 302
    with client.session_transaction() as session:
        assert session["first_touch"]["utm_medium"] == "newsletter"
        assert "\x00" not in json.dumps(session["first_touch"])
    assert_nothing_invalid_stored(fuzz_app)


def test_a_submission_stored_with_a_nul_first_touch_can_still_be_completed(fuzz_app):
    token = ready_for_contact(fuzz_app, first_touch={"utm_source": "\x00", "utm_campaign": "spring\x00",
                                                     "at": "not a time"})
    response = fuzz_app.test_client().post(f"/assessment/{token}/contact", data=_contact())
    assert response.status_code == 302
    lead = _lead(fuzz_app)
    assert (lead.source, lead.utm_campaign) == ("direct", "spring")


def test_control_characters_never_reach_a_stored_name(fuzz_app):
    token = ready_for_contact(fuzz_app)
    client = fuzz_app.test_client()
    response = client.post(f"/assessment/{token}/contact", data=_contact("\x00Da\x07na\x1b \t\n Lee\x7f"))
    assert response.status_code == 302
    assert _lead(fuzz_app).first_name == "Dana Lee"
    assert_nothing_invalid_stored(fuzz_app)


def test_a_name_of_only_control_characters_is_asked_again(fuzz_app):
    token = ready_for_contact(fuzz_app)
    response = fuzz_app.test_client().post(f"/assessment/{token}/contact", data=_contact("\x00\x01"))
    assert response.status_code == 422
    assert "Tell us your first name" in response.get_data(as_text=True)


def test_nul_in_every_strategy_session_field_is_not_a_500(fuzz_app):
    client = fuzz_app.test_client()
    data = {"first_name": "Da\x00na", "email": "dana\x00@example.com", "goals": "Run\x00 a\r\nhalf\tmarathon",
            "dealing_with": ["pain\x00"], "services": ["personal_training"], "delivery": "online",
            "start_timing": "asap", "preferred_contact": "email", "phone": "\x00512 555 0100",
            "time_zone": "America/Chicago\x00", "consent": "y", "assessment_token": "\x00"}
    response = client.post("/strategy-session", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    from coachapp.extensions import db
    from coachapp.models import StrategyRequest

    with fuzz_app.app_context():
        goals = [a["goals"] for a in db.session.execute(select(StrategyRequest.answers)).scalars()]
    assert goals == ["Run a\r\nhalf\tmarathon"]  # free text keeps its lines, loses the NUL
    assert_nothing_invalid_stored(fuzz_app)


def test_nul_in_the_sign_in_form_is_not_a_500(fuzz_app):
    client = fuzz_app.test_client()
    for email, password in (("coach\x00@example.com", "x"), ("\x00", "\x00"), ("a@b.c", "pass\x00word")):
        response = client.post("/auth/login", data={"email": email, "password": password})
        assert response.status_code < 500, (email, response.status_code)


def test_nul_in_the_api_first_name_is_a_422(fuzz_app):
    client = fuzz_app.test_client()
    response = client.post(API, json={"answers": DESK_ACHILLES, "contact": {**CONTACT, "first_name": "Da\x00na"}})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"contact.first_name": "Contains control characters."}
    assert_nothing_invalid_stored(fuzz_app)


@pytest.mark.parametrize(("body", "status"), [
    ('{"answers": {"age_band": "\\ud800"}}', 400),  # a lone surrogate
    ('{"answers": {}, "contact": {"first_name": "\\udfff"}}', 400),
    ('{"answers": {"\\ud800": 1}}', 400),  # in a key
    ("[" * 100_000 + "]" * 100_000, 400),  # deeper than the parser's recursion limit
    ('{"answers": ' + "[" * 32 + "]" * 32 + "}", 400),  # deeper than 32
    ('{"answers": NaN}', 400),
    ('{"answers": {"age_band": 1e999}}', 422),
    ('{"answers": {"age_band\\u0001": "30-39"}}', 422),  # a control character in a key
    ('{"answers": {"sf_screen": ["none\\u0000"]}}', 422),
])
def test_hostile_json_is_refused_with_a_clear_4xx(fuzz_app, body, status):
    response = fuzz_app.test_client().post(API, data=body, content_type="application/json")
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] in ("invalid_json", "validation_failed")


def test_json_nested_exactly_32_levels_is_still_read(fuzz_app):
    nested: object = 1
    for _ in range(30):  # body → contact → x: 32 levels in all
        nested = [nested]
    body = {"answers": DESK_ACHILLES, "contact": {**CONTACT, "x": nested}}
    response = fuzz_app.test_client().post(API, json=body)
    assert response.status_code == 422  # depth 32: an ordinary "unknown field", not a refusal
    assert response.get_json()["errors"] == {"contact.x": "Unknown field."}


def test_json_sent_to_a_page_is_a_415(fuzz_app):
    response = fuzz_app.test_client().post("/strategy-session", json={"first_name": ["Dana", {"a": 1}]})
    assert response.status_code == 415


def test_hygiene_runs_before_csrf_on_the_real_configuration(web):
    """The suite's app has CSRF off; with it on, a NUL is still cleaned before anything reads it."""
    web.get("/assessment?utm_source=%00x")
    response = web.post("/assessment/start", {"junk\x00": "\x00"})
    assert response.status_code == 302
    bad = web.client.post("/assessment/start", data={"csrf_token": "\x00"})
    assert bad.status_code == 400


def test_a_coach_name_is_stored_as_one_clean_line(db_app):
    from coachapp.coaches import CoachData, create_coach

    coach = create_coach(CoachData(name="  Sam\n\x00Mobility\t ", email="sam.clean@example.com"))
    assert coach.name == "Sam Mobility"


def test_adding_tests_later_does_not_copy_control_characters(db_app):
    from coachapp.leads.assessments import start
    from coachapp.models import utcnow

    submission = start({"utm_source": "ads\x00\x1b", "referrer": "https://x.example/\x07"}, utcnow())
    assert submission.first_touch == {"utm_source": "ads", "referrer": "https://x.example/"}


def test_deep_json_is_refused_before_it_is_parsed(db_app):
    from coachapp.hygiene import _nests_deeper

    assert _nests_deeper(b'{"a": ' + b"[" * 33 + b"]" * 33 + b"}", 32)
    assert not _nests_deeper(b'{"a": ' + b"[" * 31 + b"]" * 31 + b"}", 32)
    assert not _nests_deeper(b'{"a": "' + b"[" * 100 + b'"}', 32)  # brackets inside a string
    assert not _nests_deeper(b'{"a": "\\"' + b"[" * 100 + b'"}', 32)  # an escaped quote stays inside


def test_every_int_in_a_url_stops_at_the_largest_stored_id(fuzz_app):
    """Every ``<int:…>`` on every blueprint is ``IdConverter`` (max: INTEGER): a larger number
    matches no route, so no query is ever built from it (PostgreSQL refuses it with a 500)."""
    from coachapp.hygiene import MAX_ID, IdConverter

    converters = [c for rule in fuzz_app.url_map.iter_rules() for c in rule._converters.values()
                  if isinstance(c, IdConverter)]
    assert converters and all(c.max == MAX_ID for c in converters)
    assert fuzz_app.url_map.converters["int"] is IdConverter
    assert any(rule.rule.startswith("/outbox/") for rule in fuzz_app.url_map.iter_rules())
    client = fuzz_app.test_client()
    for path in (f"/outbox/{MAX_ID + 1}", "/outbox/99999999999999999999", f"/dashboard/leads/{MAX_ID + 1}"):
        assert client.get(path).status_code == 404, path  # no route: before any sign-in check
    assert client.get(f"/dashboard/leads/{MAX_ID}").status_code == 302  # a route: sign in first
