"""The signed-in dashboard (and /auth) under hostile input: every rule of ``app.url_map`` there,
with hostile path values, query strings, form fields and uploads, signed in as the owner and as a
plain coach. Never a 5xx; a plain coach gets 403/404 (or 405) on the owner's pages; nothing with a
control character stored. The seeded site is ``tests/hostile/dashboard_site.py``.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.conftest import hostile_settings
from tests.hostile.dashboard_site import (
    COACH_EMAIL,
    FORM_KEYS,
    HOSTILE_INTS,
    HOSTILE_TEXTS,
    LATIN1,
    ODD,
    OWNER_EMAIL,
    QUERY_KEYS,
    VARIABLE,
    Signed,
)
from tests.hostile.support import TEXT, Tally, assert_nothing_invalid_stored, junk, salted


def _hostile_values(converter: str) -> list[str]:
    return HOSTILE_INTS if converter == "int" else HOSTILE_TEXTS


def test_every_route_with_hostile_path_values(dashboard_site):
    """Deterministic: each path variable of every rule takes each hostile value in turn (the
    others valid), by GET and POST; then every rule with valid values and every query key and
    form field set to the same hand-picked string."""
    site = dashboard_site
    owner = Signed(site.app, OWNER_EMAIL)
    tally = Tally("dashboard paths")
    for rule, endpoint, methods in site.rules:
        if endpoint == "auth.logout":
            continue  # signs out: covered below, last
        valid = {name: site.valid.get(name, ["x"])[0] for _conv, name in site.variables(rule)}
        for converter, name in site.variables(rule):
            for value in _hostile_values(converter):
                for method in methods:
                    tally(owner.open(method, site.url(rule, {**valid, name: value})))
            # the decoded path as a server hands it over: bytes that are not UTF-8, as latin-1
            raw = rule.replace(f"<{converter}:{name}>" if converter != "default" else f"<{name}>",
                               "a\udcff\x85b".encode("utf-8", "surrogateescape").decode("latin-1"))
            tally(owner.open("GET", "/", environ_overrides={"PATH_INFO": VARIABLE.sub("1", raw)}))
    for text in ["a\x00b\x1b\u202e'; --", "x" * 5000, "", "é\x85²", "9999-12-31T23:59", "99999999999999999999"]:
        for rule, endpoint, methods in site.rules:
            if endpoint == "auth.logout":
                continue
            url = site.url(rule, {name: site.valid.get(name, ["x"])[0] for _c, name in site.variables(rule)})
            query = urlencode([(key, text) for key in QUERY_KEYS], quote_via=quote)
            for method in methods:
                form = {key: text for key in site.fields(endpoint) + FORM_KEYS} if method == "POST" else None
                tally(owner.open(method, f"{url}?{query}", data=form))
    tally(owner.open("POST", "/auth/logout", data={"next": "\x00"}))
    tally.report()
    assert_nothing_invalid_stored(site.app)


VALUES = st.one_of(junk(), st.sampled_from(ODD), salted(st.sampled_from(ODD)), salted(TEXT))


def _form(draw, keys: list[str]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(keys), max_size=10, unique=True))
    form: dict[str, Any] = {key: draw(st.one_of(VALUES, st.lists(VALUES, max_size=3))) for key in chosen}
    if draw(st.booleans()):
        form[draw(st.one_of(junk(), st.sampled_from(FORM_KEYS)))] = draw(VALUES)
    return form


@pytest.mark.parametrize("who", ["owner", "coach"])
def test_generated_queries_and_forms(dashboard_site, who):
    """Any rule, mostly valid ids, generated query strings (raw bytes too), form fields and
    uploads; a plain coach: the owner's pages refused whatever the input."""
    site = dashboard_site
    owner = Signed(site.app, OWNER_EMAIL if who == "owner" else COACH_EMAIL)
    tally = Tally(f"dashboard queries and forms ({who})")
    rules = [r for r in site.rules if r[1] != "auth.logout"]

    @hostile_settings(1.5 if who == "owner" else 1.0)  # CI: 300 / 200 requests
    @given(st.data())
    def visit(data):
        rule, endpoint, methods = data.draw(st.sampled_from(rules))
        values = {name: data.draw(st.one_of(st.sampled_from(site.valid.get(name, ["x"])),
                                            st.sampled_from(_hostile_values(conv)), junk()))
                  if data.draw(st.integers(0, 4)) == 0 else data.draw(st.sampled_from(site.valid.get(name, ["x"])))
                  for conv, name in site.variables(rule)}
        url = site.url(rule, {k: v or "x" for k, v in values.items()})
        pairs = data.draw(st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_KEYS), junk()), VALUES), max_size=5))
        raw = data.draw(st.one_of(st.none(), LATIN1))
        method = data.draw(st.sampled_from(methods))
        kwargs: dict[str, Any] = ({"environ_overrides": {"QUERY_STRING": raw}} if raw is not None
                                  else {"query_string": urlencode(pairs, quote_via=quote)})
        if method == "POST":
            form = _form(data.draw, site.fields(endpoint))
            if endpoint == "dashboard.import_upload" and data.draw(st.booleans()):
                content = data.draw(st.one_of(st.binary(max_size=300), LATIN1.map(lambda s: s.encode("latin-1")),
                                              junk().map(lambda s: ("email,first_name\n" + s).encode())))
                form["file"] = (io.BytesIO(content), data.draw(st.sampled_from(["leads.csv", "a\x00.csv", ""])))
                kwargs["content_type"] = "multipart/form-data"
            kwargs["data"] = form
        response = tally(owner.open(method, url, **kwargs))
        if who == "coach" and _owner_only(endpoint):
            assert response.status_code in (400, 403, 404, 405), (url, method, response.status_code)

    visit()
    tally.report()
    assert_nothing_invalid_stored(site.app)


def _owner_only(endpoint: str) -> bool:
    from coachapp.dashboard.access import OWNER_ONLY

    return endpoint.startswith(OWNER_ONLY) or endpoint.startswith("dashboard.coach")


def test_a_plain_coach_everywhere(dashboard_site):
    """A coach (not the owner): the owner's pages are refused (403, or 404 for what does not
    exist), whatever the input; every other page answers without a 5xx."""
    site = dashboard_site
    coach = Signed(site.app, COACH_EMAIL)
    tally = Tally("dashboard as a plain coach")
    for rule, endpoint, methods in site.rules:
        if endpoint == "auth.logout":
            continue
        variables = site.variables(rule)
        tries = [{name: site.valid.get(name, ["x"])[0] for _c, name in variables}]
        tries += [{name: value for _c, name in variables} for value in ("99999999999999999999", "\x00", "1")]
        for values in tries:
            for method in methods:
                form = {key: "\x00junk" for key in FORM_KEYS} if method == "POST" else None
                response = tally(coach.open(method, site.url(rule, values) + "?q=%00&weeks=-1", data=form))
                if _owner_only(endpoint):
                    assert response.status_code in (400, 403, 404, 405), (rule, method, values, response.status_code)
    tally.report()
    assert_nothing_invalid_stored(site.app)
