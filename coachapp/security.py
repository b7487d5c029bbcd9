"""Response headers: a strict Content-Security-Policy and friends, and who may cache what."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


#: Endpoints whose responses a cache may keep. Everything else is ``no-store``: dashboard pages
#: and exports, the assessment screens, results, the calendar download, the strategy-session form
#: (prefilled from the assessment) and its confirmation, the captured-mail reader, the API — health
#: data or a lead's details, and a per-session CSRF token in every form. Deny by default, so a new
#: page holding personal data is covered without anyone remembering to list it.
CACHEABLE_ENDPOINTS = frozenset({"static"})

#: Endpoints that set their own (private) policy on purpose: calendar apps poll the feed with its
#: ETag and ``max-age`` (``public.calendar``); ``private`` keeps it out of shared caches.
OWN_CACHE_POLICY = frozenset({"public.plan_feed"})


def cache_policy(response: Response) -> None:
    """``Cache-Control: no-store`` on every response that may hold personal or health data."""
    endpoint = request.endpoint or ""
    if endpoint in CACHEABLE_ENDPOINTS or endpoint in OWN_CACHE_POLICY:
        return
    cache = response.cache_control
    cache.no_store = True
    cache.public = False
    cache.max_age = None
    cache.s_maxage = None


def init_app(app: Flask) -> None:
    @app.after_request
    def set_headers(response: Response) -> Response:
        cache_policy(response)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
