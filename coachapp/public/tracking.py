"""First-touch attribution: UTM parameters, referrer and landing page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import request, session

from coachapp.models import utcnow
from coachapp.public import bp

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
SESSION_KEY = "first_touch"


def capture(args: dict[str, str], referrer: str | None, url: str, host: str) -> dict[str, Any]:
    """What we keep of a first visit (pure; values are trimmed)."""
    touch: dict[str, Any] = {k: args[k][:200] for k in UTM_KEYS if args.get(k)}
    if referrer:
        ref_host = urlsplit(referrer).hostname or ""
        if ref_host and ref_host != host.split(":")[0]:
            touch["referrer"] = referrer[:500]
            touch["referrer_host"] = ref_host[:120]
    touch["landing_page"] = url[:500]
    touch["at"] = utcnow().isoformat()
    return touch


@bp.before_app_request
def remember_first_touch() -> None:
    if request.method != "GET" or SESSION_KEY in session or request.blueprint != "public":
        return
    if request.endpoint == "static":
        return
    session[SESSION_KEY] = capture(
        request.args.to_dict(), request.referrer, request.url, request.host
    )
    session.permanent = True


def first_touch() -> dict[str, Any]:
    return dict(session.get(SESSION_KEY) or {})
