"""Unsubscribe: a signed link per lead, a page to stop everything or only sales emails,
and RFC 8058 one-click (a POST from the mail client, no cookie, no login, no CSRF token:
the signed token is the authority)."""

from __future__ import annotations

from flask import render_template, request

from coachapp.extensions import csrf, db
from coachapp.followups.services import unsubscribe
from coachapp.links import unsubscribe_serializer
from coachapp.links import unsubscribe_token as unsubscribe_token  # re-exported for callers
from coachapp.models import Lead, utcnow
from coachapp.public import bp
from coachapp.public.signed import lead_for
from coachapp.rules_store import get_rules
from coachapp.webhooks_out.queueing import lead_unsubscribed


def _lead_for(token: str) -> Lead:
    return lead_for(unsubscribe_serializer(), token)


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> str:
    lead = _lead_for(token)
    return render_template("public/unsubscribe.html", lead=lead, token=token, done=None)


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe_post(token: str) -> tuple[str, int] | str:
    lead = _lead_for(token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    scope = "all" if one_click else request.form.get("scope", "all")
    if scope not in ("all", "sales"):
        scope = "all"
    now = utcnow()
    unsubscribe(get_rules(), lead, scope, now, via="one-click" if one_click else "page")
    lead_unsubscribed(lead, scope, now)  # the owner's webhook endpoints (not a LeadChanged)
    db.session.commit()
    if one_click:
        return "Unsubscribed.", 200
    return render_template("public/unsubscribe.html", lead=lead, token=token, done=scope)
