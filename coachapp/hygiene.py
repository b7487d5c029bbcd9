"""Input hygiene at the edge: the one place hostile characters are refused or removed.

``init_app`` installs two parts of one filter, before anything reads the request:

- a WSGI middleware, on the raw environ (before Flask builds a request, opens the session or
  matches a route):
  * **path** — a control character (NUL, …) in the decoded path → 400;
  * **headers** — a C0 control or DEL in any header value (Host, Referer, User-Agent, Cookie, …;
    tab allowed, as in HTTP itself) → 400;
  * **query string** — control characters are *removed* from every name and value (a mangled
    ad link still lands: ``?utm_source=%00`` becomes ``?utm_source=``), and bytes that are not
    UTF-8 are replaced, so ``request.args``, ``request.url`` and the first-touch capture agree;
- the first ``before_request`` hook, on the body (except under ``/webhooks/``: a signed body is
  verified byte for byte by its endpoint, so nothing here reads, parses or rewrites it):
  * **form fields** — control characters are removed from every name and value (free text
    keeps tab, newline and carriage return);
  * **JSON** — only under ``/api/`` (elsewhere 415: the pages take forms); malformed JSON,
    ``NaN``/``Infinity``, nesting deeper than ``MAX_JSON_DEPTH`` or a lone surrogate → 400
    ``invalid_json``; a control character other than tab/newline/CR in any key or string →
    422 ``validation_failed`` with the offending paths.

Errors are rendered by ``coachapp.errors`` (an HTML page, or JSON under ``/api/``). Services
clean what they store again (``coachapp.textclean``), so a stored row never depends on this
filter alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from flask import Flask, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from coachapp.textclean import (
    MAX_JSON_DEPTH,
    has_controls,
    has_lone_surrogate,
    json_depth_exceeds,
    json_strings,
    strip_controls,
)

#: Where the middleware leaves its verdict for the hook (the hook raises it as an error page).
VERDICT_KEY = "coachapp.hygiene.rejected"
#: Paths whose body is signed by the sender (booking webhooks): left byte for byte as received.
#: The endpoint verifies the signature, then parses with its own checks (``leads.booking_events``).
SIGNED_BODY_PREFIXES = ("/webhooks/",)
_HEADER_BAD = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # WSGI header strings are bytes as latin-1


class RejectedInput(HTTPException):
    """A request refused by the hygiene filter; ``slug`` and ``errors`` go into JSON replies."""

    def __init__(self, code: int, slug: str, description: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.slug = slug
        self.errors = errors or {}


#: Endpoints that take a file, and their body limit (the lead import: 5 MB of CSV, plus the form).
UPLOAD_LIMITS = {"dashboard.import_upload": 5 * 1024 * 1024 + 64 * 1024}


def init_app(app: Flask) -> None:
    app.wsgi_app = HygieneMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    # First of all hooks: before CSRF, the rate limiter and the first-touch capture read anything.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)


class HygieneMiddleware:
    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        verdict = environ_problem(environ)
        if verdict:
            environ[VERDICT_KEY] = verdict
        clean_query_string(environ)  # a refused request too: its error page reads the query (``?embed=1``)
        return self.wsgi_app(environ, start_response)


def _wsgi_text(value: str) -> str:
    """A WSGI string (bytes carried as latin-1) as the text it encodes."""
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


def environ_problem(environ: dict[str, Any]) -> str | None:
    """Why this request is refused before it reaches the app, or None."""
    if has_controls(_wsgi_text(environ.get("PATH_INFO") or "")):
        return "The address contains characters that are not allowed."
    for key, value in environ.items():
        if (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")) and isinstance(value, str):
            if _HEADER_BAD.search(value):
                name = key.removeprefix("HTTP_").replace("_", "-").title()
                return f"The {name} header contains characters that are not allowed."
    return None


def clean_query_string(environ: dict[str, Any]) -> None:
    """Remove control characters from every query name and value, and replace bytes that are
    not UTF-8 (Werkzeug would fail on them); the query string is rewritten only when needed."""
    raw = (environ.get("QUERY_STRING") or "").encode("latin-1", "replace")
    if not raw:
        return
    try:
        text, utf8 = raw.decode("utf-8"), True
    except UnicodeDecodeError:
        text, utf8 = raw.decode("utf-8", "replace"), False
    pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
    if utf8 and not has_controls(text) and not any(has_controls(k) or has_controls(v) for k, v in pairs):
        return
    environ["QUERY_STRING"] = urlencode(
        [(strip_controls(k), strip_controls(v)) for k, v in pairs], quote_via=quote
    )


def check_request() -> None:
    """The request's verdict from the middleware, then its form fields or JSON body."""
    verdict = request.environ.get(VERDICT_KEY)
    if verdict:
        raise RejectedInput(400, "bad_request", verdict)
    if request.endpoint in UPLOAD_LIMITS:  # before anything reads the body (MAX_CONTENT_LENGTH elsewhere)
        request.max_content_length = UPLOAD_LIMITS[request.endpoint]
    if request.path.startswith(SIGNED_BODY_PREFIXES):
        return  # the endpoint verifies an HMAC over the raw bytes: nothing may read or rewrite them first
    if request.is_json and (request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "")):
        _check_json()
    elif request.form:
        _clean_form()


def _clean_form() -> None:
    pairs = list(request.form.items(multi=True))
    if any(has_controls(k) or has_controls(v, multiline=True) for k, v in pairs):
        request.form = ImmutableMultiDict(  # type: ignore[misc]
            [(strip_controls(k), strip_controls(v, multiline=True)) for k, v in pairs]
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _nests_deeper(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (a linear scan, run only when
    the body has more than ``limit`` brackets at all)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _check_json() -> None:
    if not request.path.startswith("/api/"):
        raise RejectedInput(415, "unsupported_media_type", "This page takes a form, not JSON.")
    raw = request.get_data(cache=True)
    if _nests_deeper(raw, MAX_JSON_DEPTH):  # refused before parsing: no recursion at all
        raise RejectedInput(400, "invalid_json", f"JSON may nest at most {MAX_JSON_DEPTH} levels.")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise RejectedInput(400, "invalid_json", f"JSON may nest at most {MAX_JSON_DEPTH} levels.") from None
    except ValueError:  # malformed, not UTF-8, NaN/Infinity
        raise RejectedInput(400, "invalid_json", "The body is not valid JSON (and NaN or Infinity "
                                                 "are not JSON).") from None
    if json_depth_exceeds(body):
        raise RejectedInput(400, "invalid_json", f"JSON may nest at most {MAX_JSON_DEPTH} levels.")
    strings = list(json_strings(body))
    if any(has_lone_surrogate(value) for _, value in strings):
        raise RejectedInput(400, "invalid_json", "The JSON holds a lone surrogate (\\ud800–\\udfff): "
                                                 "not valid Unicode.")
    errors = {path or "(body)": "Contains control characters." for path, value in strings
              if has_controls(value, multiline=True)}
    if errors:
        raise RejectedInput(422, "validation_failed", "Some fields need attention.", errors)


#: The largest id a URL may name: every id and version number is a 32-bit INTEGER column, and
#: PostgreSQL refuses a larger literal ("integer out of range": a 500) instead of finding nothing.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` with ``max=MAX_ID`` unless a rule says otherwise: a larger number matches no
    route (404) before any query is built from it, on every blueprint."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def bounded_ids(app: Flask) -> None:
    """Install ``IdConverter`` as ``int``; before any route is added (rules bind their converters
    when they are added)."""
    app.url_map.converters["int"] = IdConverter
