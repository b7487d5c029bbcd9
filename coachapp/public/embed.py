"""Embedded mode: the assessment and the strategy session inside an iframe on the coach's site.

``?embed=1`` on an embeddable page (``coachapp.embedding.EMBEDDABLE_ENDPOINTS``) renders the
compact layout (no site header or footer; ``static/embed-frame.js`` tells the host page its
height) and every link, form and redirect to another embeddable page keeps the flag
(``url_defaults``), so the whole flow stays compact. The flag means nothing while
``EMBED_ORIGINS`` is empty (embedding off).

Each embedded page also offers "open in a new tab": the same step as a top-level page, with the
host page and UTM parameters carried along. It is the way on when a browser keeps no cookie at
all in third-party frames (Safari; those that keep a ``Partitioned`` one are fine): without the
session cookie the CSRF check fails, and the CSRF page says so and offers the same link.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request, url_for

from coachapp.embedding import EMBEDDABLE_ENDPOINTS, FLAG, HOST_PARAM
from coachapp.public import bp
from coachapp.public.tracking import UTM_KEYS

#: A failed POST's top-level equivalent: the page that shows what was being sent.
_TOP_LEVEL = {"public.start": "public.intro", "public.add_tests": "public.results"}


def embedding_on() -> bool:
    return bool(current_app.config.get("EMBED_ORIGINS"))


def is_embedded() -> bool:
    """This request renders inside the coach's site (the flag, on an embeddable page)."""
    return (has_request_context() and request.args.get(FLAG) == "1" and embedding_on()
            and request.endpoint in EMBEDDABLE_ENDPOINTS)


def _passed_along() -> dict[str, str]:
    """The host page and its UTM parameters, as the embed script gave them to this page."""
    return {k: request.args[k] for k in (HOST_PARAM, *UTM_KEYS) if request.args.get(k)}


@bp.url_defaults
def keep_the_flag(endpoint: str, values: dict[str, Any]) -> None:
    """Links and redirects from an embedded page to another embeddable page stay embedded; the
    start form also carries the host page and UTM (so the new-tab way on keeps them too)."""
    if endpoint in EMBEDDABLE_ENDPOINTS and is_embedded():
        values.setdefault(FLAG, "1")
        if endpoint == "public.start":
            for key, value in _passed_along().items():
                values.setdefault(key, value)


def top_level_url() -> str:
    """This step as a page of its own (no flag), for "open in a new tab"."""
    endpoint = _TOP_LEVEL.get(request.endpoint or "", request.endpoint or "public.intro")
    values: dict[str, Any] = dict(request.view_args or {}, **_passed_along())
    if endpoint == "public.strategy_session" and request.method == "POST":
        values.setdefault("from_assessment", request.form.get("assessment_token") or None)
    elif endpoint == "public.strategy_session":
        values.setdefault("from_assessment", request.args.get("from_assessment"))
    return url_for(endpoint, **{**values, FLAG: None})


@bp.app_context_processor
def embed_context() -> dict[str, Any]:
    if not is_embedded():
        return {"embedded": False}
    return {"embedded": True, "top_level_url": top_level_url(),
            "embed_origins": " ".join(current_app.config["EMBED_ORIGINS"])}
