"""First-touch attribution: UTM parameters, referrer and landing page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, session

from coachapp.embedding import HOST_LIMIT, HOST_PARAM, host_page
from coachapp.models import utcnow
from coachapp.public import bp
from coachapp.textclean import clean_line, clean_mapping

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
SESSION_KEY = "first_touch"


def capture(args: dict[str, str], referrer: str | None, url: str, host: str) -> dict[str, Any]:
    """What we keep of a first visit (pure; values are trimmed, control characters removed)."""
    touch: dict[str, Any] = {k: clean_line(args[k], 200) for k in UTM_KEYS if clean_line(args.get(k), 200)}
    referrer = clean_line(referrer, 500)
    if referrer:
        try:
            ref_host = urlsplit(referrer).hostname or ""
        except ValueError:  # e.g. "http://[::1" — not a URL we can attribute
            ref_host = ""
        if ref_host and ref_host != host.split(":")[0]:
            touch["referrer"] = referrer
            touch["referrer_host"] = ref_host[:120]
    touch["landing_page"] = clean_line(url, HOST_LIMIT)
    touch["at"] = utcnow().isoformat()
    return touch


@bp.before_app_request
def remember_first_touch() -> None:
    if request.method != "GET" or SESSION_KEY in session or request.blueprint != "public":
        return
    if request.endpoint == "static":
        return
    # Embedded on the coach's site: the landing page is the host page (static/embed.js passes
    # its URL), when it is on one of EMBED_ORIGINS; the UTM parameters come along in the query.
    landing = host_page(request.args.get(HOST_PARAM), current_app.config.get("EMBED_ORIGINS") or ())
    session[SESSION_KEY] = capture(
        request.args.to_dict(), request.referrer, landing or request.url, request.host
    )
    session.permanent = True


def first_touch() -> dict[str, Any]:
    """The first touch kept in the session; one saved before input hygiene (a NUL from
    ``?utm_source=%00``) is repaired in place rather than failing every later form."""
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict):
        return {}
    touch = clean_mapping(kept)
    if touch != kept:
        session[SESSION_KEY] = touch
    return touch
