"""Honeypot and time trap on the public forms that send email: a bot gets a page that looks
accepted while nothing is stored or sent; a person — however quick, or with a stale page — is
never refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, OutboxMessage, StrategyRequest
from coachapp.public import antispam
from coachapp.rules_store import get_rules
from tests.conftest import ROOT
from tests.helpers import CONTACT, DESK_ACHILLES, walk_assessment
from tests.helpers_strategy import STRATEGY_FORM, make_coach

SHOWN_AT = re.compile(r'<input[^>]*name="shown_at"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="shown_at"')
CONTACT_DATA = {"first_name": "Dana", "email": "dana.runner@example.com", "consent_health": "y",
                "time_zone": "America/Chicago", "nav": "next"}


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch, db_app) -> Clock:
    moved = Clock()
    monkeypatch.setattr(antispam, "now", moved)
    monkeypatch.setitem(db_app.config, "FORM_MIN_SECONDS", 2.0)
    return moved


def _shown_at(html: str) -> str:
    found = SHOWN_AT.search(html)
    assert found, "the form carries no time stamp"
    return found.group(1) or found.group(2)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _nothing_stored() -> bool:
    return _count(Lead) == 0 and _count(OutboxMessage) == 0 and _count(StrategyRequest) == 0


def _at_contact(web) -> tuple[str, str]:
    """An assessment answered up to the contact screen: (its URL, the page's time stamp)."""
    token = walk_assessment(web, get_rules(), DESK_ACHILLES)
    url = f"/assessment/{token}/contact"
    return url, _shown_at(web.get(url).get_data(as_text=True))


# --- the honeypot ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/strategy-session", "contact"])
def test_the_honeypot_is_hidden_from_people_screen_readers_keyboards_and_autofill(web, url):
    if url == "contact":
        url, _ = _at_contact(web)
    html = web.get(url).get_data(as_text=True)
    wrapper = re.search(r'<div class="hp-field" aria-hidden="true">(.*?)</div>', html, re.S)
    assert wrapper, "no hidden honeypot"
    field = re.search(r"<input[^>]*>", wrapper.group(1)).group(0)
    for attribute in ('name="reference_code"', 'tabindex="-1"', 'autocomplete="off"', 'type="text"'):
        assert attribute in field
    assert '<label for="reference_code">Leave this field empty</label>' in wrapper.group(1)
    css = (ROOT / "coachapp/static/app.css").read_text()
    assert re.search(r"\.hp-field \{[^}]*position: absolute; left: -10000px;[^}]*overflow: hidden;", css)


def test_a_filled_honeypot_on_the_contact_screen_looks_accepted_but_stores_and_sends_nothing(web, clock):
    url, stamp = _at_contact(web)
    clock.now += 30
    response = web.post(url, {**CONTACT_DATA, "shown_at": stamp, "reference_code": "http://spam.example"})
    assert response.status_code == 200
    assert "we've received it" in response.get_data(as_text=True)
    assert _nothing_stored()
    assert db.session.execute(select(AssessmentSubmission)).scalar_one().completed_at is None


def test_a_filled_honeypot_on_the_strategy_form_looks_accepted_but_stores_and_sends_nothing(web, clock):
    make_coach(db)
    stamp = _shown_at(web.get("/strategy-session").get_data(as_text=True))
    clock.now += 60
    response = web.post("/strategy-session", {**STRATEGY_FORM, "shown_at": stamp, "reference_code": "x"})
    assert response.status_code == 200 and "we've received it" in response.get_data(as_text=True)
    assert _nothing_stored()


# --- the time trap -----------------------------------------------------------------------------

def test_the_contact_screen_sent_back_too_fast_stores_nothing_and_a_second_press_goes_through(web, clock):
    url, stamp = _at_contact(web)
    clock.now += 0.5
    quick = web.post(url, {**CONTACT_DATA, "shown_at": stamp})
    html = quick.get_data(as_text=True)
    assert quick.status_code == 200 and antispam.AGAIN.replace("'", "&#39;") in html
    assert 'value="Dana"' in html and 'value="dana.runner@example.com"' in html  # nothing to type again
    assert _shown_at(html) == stamp  # timed from when the page was first shown
    assert _nothing_stored()
    clock.now += 2
    done = web.post(url, {**CONTACT_DATA, "shown_at": _shown_at(html)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/results")
    assert _count(Lead) == 1 and _count(OutboxMessage) >= 1


def test_a_person_two_seconds_after_the_contact_screen_appeared_is_accepted(web, clock):
    url, stamp = _at_contact(web)
    clock.now += 2.0
    assert web.post(url, {**CONTACT_DATA, "shown_at": stamp}).status_code == 302


def test_a_form_shown_again_with_errors_keeps_the_time_it_was_first_shown(web, clock):
    url, stamp = _at_contact(web)
    clock.now += 1
    errors = web.post(url, {**CONTACT_DATA, "consent_health": "", "shown_at": stamp})
    assert errors.status_code == 422 and _shown_at(errors.get_data(as_text=True)) == stamp
    clock.now += 1.2  # ticks the box and presses again: 2.2 s after the page first appeared
    assert web.post(url, {**CONTACT_DATA, "shown_at": stamp}).status_code == 302


@pytest.mark.parametrize("stamp", [None, "", "garbage", "eyJ0IjoxfQ.forged-signature"])
def test_a_missing_stale_or_unreadable_stamp_never_refuses_a_person(web, clock, stamp):
    url, _ = _at_contact(web)
    data = dict(CONTACT_DATA)
    if stamp is not None:
        data["shown_at"] = stamp
    assert web.post(url, data).status_code == 302


def test_a_stamp_from_long_ago_is_fine(web, clock):
    url, stamp = _at_contact(web)
    clock.now += 40 * 24 * 3600  # the tab stayed open for weeks
    assert web.post(url, {**CONTACT_DATA, "shown_at": stamp}).status_code == 302


def test_the_strategy_form_sent_back_too_fast_stores_nothing_then_goes_through(web, clock):
    make_coach(db)
    stamp = _shown_at(web.get("/strategy-session").get_data(as_text=True))
    clock.now += 1
    quick = web.post("/strategy-session", {**STRATEGY_FORM, "shown_at": stamp})
    assert quick.status_code == 200 and "press the button again" in quick.get_data(as_text=True)
    assert _nothing_stored()
    clock.now += 5
    done = web.post("/strategy-session", {**STRATEGY_FORM, "shown_at": stamp})
    assert done.status_code == 302 and "/strategy-session/thanks/" in done.headers["Location"]
    assert _count(StrategyRequest) == 1


def test_the_quick_strategy_form_carries_the_traps_too(web, clock):
    token = walk_assessment(web, get_rules(), DESK_ACHILLES, contact=CONTACT)
    html = web.get(f"/strategy-session?from_assessment={token}").get_data(as_text=True)
    assert 'name="reference_code"' in html and _shown_at(html)


def test_the_minimum_time_is_two_seconds_unless_configured(tmp_path):
    from coachapp.config import from_env

    assert from_env({"SECRET_KEY": "x" * 40}, tmp_path)["FORM_MIN_SECONDS"] == 2.0
    assert from_env({"SECRET_KEY": "x" * 40, "FORM_MIN_SECONDS": "0"}, tmp_path)["FORM_MIN_SECONDS"] == 0.0
