"""The JSON API under generated bodies: any JSON at all, raw bytes, and valid answers with a
hostile contact. Never a 5xx; a refusal is a 400/415/422 with a JSON error; nothing invalid stored."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.conftest import hostile_settings
from tests.hostile.support import (
    EMAILS,
    MODES,
    NAMES,
    NASTY,
    Tally,
    answers_for,
    assert_nothing_invalid_stored,
    field,
    junk,
)

API = "/api/v1/assessments"
#: Strings JSON can carry that a form cannot: lone surrogates included.
JSON_TEXT = st.one_of(st.text(max_size=20), st.sampled_from(NASTY + ["\ud800", "a\udfffb", "\udbff\udc00"]))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), JSON_TEXT,
                    st.integers(min_value=10**20, max_value=10**300))
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(JSON_TEXT, inner, max_size=4)), max_leaves=30)


def _deep(depth: int, leaf: object = 1) -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@dataclass(frozen=True)
class Nesting:
    """A body of ``depth`` nested arrays, sent as text. A marker, not a bare int: the generic JSON
    strategy draws integers up to 10**300 too, and treating those as a depth once built a string
    of 10**20 brackets in the test process (the 20 GB blow-up of session 3, not the app's)."""

    depth: int


def _check(response) -> None:
    if response.status_code >= 400:
        body = response.get_json()
        assert body and body.get("error") and body.get("message"), response.get_data(as_text=True)[:300]


def test_any_json_body(fuzz_app):
    client = fuzz_app.test_client()
    tally = Tally("API: any JSON")

    @hostile_settings(1.0)
    @given(body=st.one_of(
        ANY_JSON,
        st.fixed_dictionaries({"answers": ANY_JSON}, optional={"contact": ANY_JSON}),
        st.builds(lambda depth, leaf: {"answers": _deep(depth, leaf)}, st.integers(25, 200), SCALARS),
        # written out, not built; past 131,000 deep the body is over 256 KiB (a 413)
        st.builds(Nesting, st.integers(200, 150_000)),
    ))
    def post(body):
        if isinstance(body, Nesting):
            text = '{"answers": ' + "[" * body.depth + "]" * body.depth + "}"
        else:  # ensure_ascii: lone surrogates travel as \\udXXX
            text = json.dumps(body, allow_nan=True)
        response = tally(client.post(API, data=text, content_type="application/json"))
        assert response.status_code in (200, 201, 400, 413, 422), response.status_code
        _check(response)

    post()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


def test_raw_bytes_and_content_types(fuzz_app):
    client = fuzz_app.test_client()
    tally = Tally("API: raw bytes")

    @hostile_settings(0.5)
    @given(data=st.one_of(st.binary(max_size=200), st.sampled_from([b"{", b'{"answers":', b"\xff\xfe{", b"\x00",
                                                                    b'{"answers": {}}' * 3, "[" * 50_000])),
           content_type=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain",
                                         "application/x-www-form-urlencoded", "application/merge-patch+json",
                                         "multipart/form-data; boundary=x", "application/json; charset=utf-16"]))
    def post(data, content_type):
        response = tally(client.post(API, data=data, content_type=content_type))
        assert response.status_code in (400, 415, 422), response.status_code
        _check(response)

    post()
    tally.report()


def test_valid_answers_with_a_hostile_contact(fuzz_app):
    client = fuzz_app.test_client()
    tally = Tally("API: valid answers, hostile contact")
    with fuzz_app.app_context():
        answer_sets = [answers_for(seed) for seed in range(40)]

    @hostile_settings(0.6)
    @given(mode=MODES, answers=st.sampled_from(answer_sets), data=st.data())
    def post(mode, answers, data):
        contact = {"first_name": data.draw(field(NAMES, mode)), "email": data.draw(field(EMAILS, mode)),
                   "consent_health": True, "consent_marketing": data.draw(st.booleans())}
        if data.draw(st.booleans()):
            contact["time_zone"] = data.draw(field(["Europe/Berlin", "America/Denver"], mode, odd=["Mars/Olympus"]))
        if mode == "wild" and data.draw(st.booleans()):
            contact[data.draw(junk())] = data.draw(junk())
        response = tally(client.post(API, json={"answers": answers, "contact": contact}))
        assert response.status_code in (201, 422), (response.status_code, response.get_json())
        if mode == "valid":
            assert response.status_code == 201, response.get_json()
        _check(response)

    post()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)
