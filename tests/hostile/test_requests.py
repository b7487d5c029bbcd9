"""Query strings, paths and headers under generated input: never a 5xx, the browser's session
stays usable (first touch, then a submission), nothing with a control character stored."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.conftest import hostile_settings
from tests.hostile.support import NASTY, Tally, assert_nothing_invalid_stored, field, junk, salted

PAGES = ["/", "/assessment", "/strategy-session", "/auth/login", "/api/v1/assessment", "/static/app.css"]
QUERY_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "from_assessment", "next"]
#: Raw bytes as a server hands them over (WSGI: latin-1), any byte but the ones that end a line.
LATIN1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=60)
#: Paths with a place for a generated segment; ``{}`` is replaced by it, percent-encoded.
PATHS = ["/assessment/{}", "/assessment/{}/results", "/assessment/{}/{}", "/assessment/{}/plan.ics",
         "/assessment/{}/add-tests", "/strategy-session/thanks/{}", "/unsubscribe/{}", "/calendar/{}.ics",
         "/api/v1/{}", "/dashboard/leads/{}", "/outbox/{}", "/{}"]


def _query(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, quote_via=quote)


def test_query_strings_then_the_same_browser_starts_an_assessment(fuzz_app):
    tally = Tally("query strings (+ start)")

    @hostile_settings(1.0)
    @given(page=st.sampled_from(PAGES), pairs=st.lists(st.tuples(field(QUERY_KEYS), junk()), max_size=6),
           raw=st.one_of(st.none(), LATIN1))
    def visit(page, pairs, raw):
        client = fuzz_app.test_client()  # a new browser: its first touch is this visit
        if raw is None:
            tally(client.get(page, query_string=_query(pairs)))
        else:  # bytes that were never percent-encoded (and need not be UTF-8)
            tally(client.get(page, environ_overrides={"QUERY_STRING": raw}))
        tally(client.post("/assessment/start"))

    visit()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


def test_paths(fuzz_app):
    client = fuzz_app.test_client()
    tally = Tally("paths")

    @hostile_settings(1.0)
    @given(template=st.sampled_from(PATHS), segments=st.lists(st.one_of(junk(), salted(st.just("abc"))),
                                                              min_size=2, max_size=2),
           method=st.sampled_from(["GET", "POST", "HEAD", "PUT"]), raw=st.booleans())
    def visit(template, segments, method, raw):
        if raw:  # the decoded path as a server hands it over: bytes as latin-1
            path = template.format(*(s.encode("utf-8").decode("latin-1") for s in segments))
            response = client.open("/", method=method, environ_overrides={"PATH_INFO": path})
        else:
            response = client.open(template.format(*(quote(s, safe="") for s in segments)), method=method)
        tally(response)

    visit()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


HEADERS = ["Host", "Referer", "User-Agent", "Cookie", "Accept-Language", "Accept", "X-Forwarded-For",
           "X-Forwarded-Host", "X-Forwarded-Proto", "Content-Type", "If-Modified-Since", "Range", "Origin"]
HEADER_VALUES = st.one_of(
    LATIN1,
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60),
    st.sampled_from(["evil.example", "coach.test:99999", "[::1", "a b", "http://[::1", "session=", "session=x.y.z",
                     "text/html;q=abc", "bytes=9-1", "*/*;;;", "multipart/form-data; boundary=", "application/json"]),
    salted(st.sampled_from(["https://www.google.com/", "Mozilla/5.0", "en-US,en;q=0.9"])),
)


def test_headers_then_the_same_browser_starts_an_assessment(fuzz_app):
    tally = Tally("headers (+ start)")

    @hostile_settings(1.0)
    @given(page=st.sampled_from(PAGES[:3]), headers=st.dictionaries(st.sampled_from(HEADERS), HEADER_VALUES,
                                                                    max_size=4))
    def visit(page, headers):
        client = FlaskClient(fuzz_app, use_cookies=False)  # the Cookie header is sent as generated
        environ = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
        if "Content-Type" in headers:
            environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
        first = tally(client.get(page, environ_overrides=environ))
        cookie = first.headers.get("Set-Cookie", "").split(";")[0]
        follow = {**environ, "HTTP_COOKIE": cookie} if cookie else environ
        tally(client.post("/assessment/start", environ_overrides=follow))

    visit()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


def test_the_nasty_strings_everywhere_at_once(fuzz_app):
    """No generation: each hand-picked string as query value, path segment and header."""
    client = fuzz_app.test_client()
    tally = Tally("hand-picked strings")
    for text in NASTY:
        tally(client.get("/assessment", query_string=_query([("utm_source", text), (text, text)])))
        tally(client.get("/assessment/" + quote(text, safe="")))
        latin = text.encode("utf-8").decode("latin-1")
        tally(FlaskClient(fuzz_app, use_cookies=False).get("/", environ_overrides={
            "HTTP_REFERER": latin, "HTTP_USER_AGENT": latin, "HTTP_COOKIE": latin}))
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)
