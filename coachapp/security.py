"""Response headers: a strict Content-Security-Policy and friends, and who may cache what."""

from __future__ import annotations

from flask import Flask, Response, abort, request

from coachapp.embedding import EMBEDDABLE_ENDPOINTS, frame_ancestors, origin_of

_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
]
CSP = "; ".join(_DIRECTIVES)


def csp(origins: tuple[str, ...]) -> str:
    """The policy of one response: the embeddable pages may be framed by ``EMBED_ORIGINS``
    (``frame-ancestors 'self' <origins>``) when embedding is on; every other page by nobody."""
    if not origins or request.endpoint not in EMBEDDABLE_ENDPOINTS:
        return CSP
    return CSP.replace("frame-ancestors 'none'", frame_ancestors(origins))


#: Blueprints without cookie authority: the JSON API (no cookies) and the signed webhooks.
ORIGIN_EXEMPT_BLUEPRINTS = frozenset({"api", "webhooks"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def own_origins(app: Flask) -> set[str]:
    """The app's own origin: ``BASE_URL``'s, and the one this request came to (localhost vs
    127.0.0.1 in development; a forged request cannot choose the Host its victim's browser sends)."""
    here = f"{request.scheme}://{request.host}"  # compared with, never put in a link
    return {o for o in (origin_of(app.config.get("BASE_URL")), origin_of(here)) if o}


def check_origin(app: Flask) -> None:
    """A form POST whose ``Origin`` names another site is refused (403), before CSRF is checked.

    The session cookie is ``SameSite=None`` when embedding is on over https, so a browser sends it
    with a cross-site POST: the CSRF token (Flask-WTF) and this check are then what stands in the
    way. A form inside the embedded frame is the app's own document, so its ``Origin`` is the
    app's; a page elsewhere (even an allowed host page) posting to us has its own. ``Origin: null``
    (a sandboxed frame, a privacy-stripped context) is refused too; no ``Origin`` at all (old
    browsers, non-browser clients) is left to the CSRF token.
    """
    if request.method not in UNSAFE_METHODS or request.blueprint in ORIGIN_EXEMPT_BLUEPRINTS:
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if origin_of(origin) not in own_origins(app):
        abort(403, "This form was sent from another site.")


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
    def same_origin_posts() -> None:
        check_origin(app)

    # Ahead of the CSRF check and the rate limiter (coachapp.hygiene puts itself first of all).
    app.before_request_funcs.setdefault(None, []).insert(0, same_origin_posts)

    @app.after_request
    def set_headers(response: Response) -> Response:
        cache_policy(response)
        policy = csp(app.config.get("EMBED_ORIGINS") or ())
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if policy == CSP:  # X-Frame-Options has no allow-list; CSP frame-ancestors governs the rest
            response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
