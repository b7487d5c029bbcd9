"""Embedding the assessment and the strategy-session form on the coach's own site (pure: no Flask).

``EMBED_ORIGINS`` lists the sites allowed to frame those pages (``https://coach-site.example``,
comma-separated). Empty: embedding is off and every page keeps ``frame-ancestors 'none'``.
Each origin is a scheme, a host and maybe a port — no path, query, user, or wildcard — and a
bad value stops the app at start with a message naming it (:class:`EmbedConfigError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

#: The public pages meant to be framed: the assessment (intro, start, screens, resume, results,
#: adding tests) and the strategy-session form with its thanks page. Everything else — the
#: dashboard, sign-in, mailbox, unsubscribe, calendar — keeps ``frame-ancestors 'none'``.
EMBEDDABLE_ENDPOINTS = frozenset({
    "public.home", "public.intro", "public.start", "public.resume", "public.step", "public.results",
    "public.add_tests", "public.strategy_session", "public.strategy_thanks",
})

#: What ``data-coachapp-embed`` names → the page's path (static/embed.js keeps the same table).
EMBED_PAGES = {"assessment": "/assessment", "strategy": "/strategy-session"}

#: The iframe's URL flag, and the host page's URL that the script passes along.
FLAG = "embed"
HOST_PARAM = "host"
HOST_LIMIT = 500  # the first touch's landing page is capped at this many characters


class EmbedConfigError(ValueError):
    """``EMBED_ORIGINS`` holds something that is not an origin; the message says what and why."""


def _origin(item: str) -> str:
    problem = None
    if "*" in item:
        problem = "wildcards are not allowed: list each site"
    else:
        try:
            parts = urlsplit(item)
            parts.port  # noqa: B018  # raises ValueError for a bad port
        except ValueError:
            parts, problem = None, "not a URL"
        if parts is not None and problem is None:
            if parts.scheme not in ("http", "https"):
                problem = "it must start with https:// (or http:// for local testing)"
            elif not parts.hostname:
                problem = "it has no host"
            elif parts.username is not None or parts.password is not None:
                problem = "it must not hold a user or password"
            elif parts.path not in ("", "/") or parts.query or parts.fragment or item.endswith(("?", "#")):
                problem = "an origin has no path, query or fragment"
    if problem:
        raise EmbedConfigError(f"EMBED_ORIGINS: {item!r} is not an origin ({problem}); "
                               "expected e.g. https://coach-site.example or https://coach-site.example:8443")
    return origin_of(item) or item


def parse_origins(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """``EMBED_ORIGINS`` (a comma-separated string, or a list in a test config) → normalised
    origins (lower-case, default port dropped), in order, without duplicates."""
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    origins: list[str] = []
    for item in (i.strip() for i in items):
        if item:
            origin = _origin(item)
            if origin not in origins:
                origins.append(origin)
    return tuple(origins)


def origin_of(url: str | None) -> str | None:
    """The normalised origin of an absolute http(s) URL; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def host_page(value: str | None, origins: Iterable[str]) -> str | None:
    """The host page's URL as the embed script passed it, when it is on an allowed site (else
    None: a made-up ``host`` never becomes a lead's landing page). Control characters are removed
    before this is called (``coachapp.hygiene``); the caller caps the length."""
    if not value or len(value) > 4 * HOST_LIMIT:
        return None
    return value if origin_of(value) in set(origins) else None


def frame_ancestors(origins: Iterable[str]) -> str:
    """The CSP directive for an embeddable page."""
    listed = " ".join(origins)
    return f"frame-ancestors 'self' {listed}" if listed else "frame-ancestors 'none'"


def session_cookie(origins: Iterable[str], base_url: str) -> dict[str, object]:
    """Session cookie settings: a third-party frame only gets its cookie with ``SameSite=None``,
    which browsers accept only with ``Secure`` — so over https with embedding on; otherwise
    nothing changes (``Lax``).

    ``Partitioned`` (CHIPS) too: a browser that blocks third-party cookies (Chrome when the
    visitor asks, incognito) still keeps a partitioned one, in a jar of its own per top-level site,
    so the embedded flow works there as well; at the top level (the dashboard) a partitioned
    cookie behaves like any other. Browsers without CHIPS ignore the attribute; where no cookie
    is kept at all (Safari) the embedded pages offer a new tab (``coachapp.public.embed``)."""
    if tuple(origins) and base_url.startswith("https://"):
        return {"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": True,
                "SESSION_COOKIE_PARTITIONED": True}
    return {}
