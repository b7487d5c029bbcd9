"""The owner's embed settings: which sites may frame the public pages, and the snippets to paste."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_login import current_user

from coachapp.dashboard import bp
from coachapp.dashboard.access import require_owner
from coachapp.embedding import EMBED_PAGES

TITLES = {"assessment": "Free Runner Assessment", "strategy": "Book a Free Strategy Session"}


def snippets(base_url: str, static_path: str) -> list[dict[str, str]]:
    """For each embeddable page: the script snippet and the plain-iframe fallback."""
    made = []
    for kind, path in EMBED_PAGES.items():
        script = (f'<div data-coachapp-embed="{kind}"></div>\n'
                  f'<script src="{base_url}{static_path}" async></script>')
        fallback = (f'<iframe src="{base_url}{path}?embed=1" title="{TITLES[kind]}" width="100%" height="900"\n'
                    f'        style="border:0" loading="lazy"></iframe>')
        made.append({"kind": kind, "title": TITLES[kind], "script": script,
                     "noscript": f"<noscript>\n{fallback}\n</noscript>", "fallback": fallback})
    return made


@bp.get("/settings/embed")
def embed_settings() -> str:
    require_owner(current_user)
    config = current_app.config
    base_url = config["BASE_URL"]
    return render_template(
        "dashboard/embed.html", origins=config.get("EMBED_ORIGINS") or (), base_url=base_url,
        https=base_url.startswith("https://"), cookie_samesite=config.get("SESSION_COOKIE_SAMESITE"),
        snippets=snippets(base_url, url_for("static", filename="embed.js")),
    )
