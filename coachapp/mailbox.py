"""The in-app mailbox: when no SMTP server is configured, emails are captured in
the outbox and can be read here. Registered only when ``SMTP_URL`` is unset (see
``create_app``), and readable only by the signed-in owner."""

from __future__ import annotations

import re

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import OutboxMessage

bp = Blueprint("mailbox", __name__, url_prefix="/outbox")


@bp.before_request
def owner_only():
    """Captured emails hold health data: only the signed-in owner reads them. Not "loopback
    only": behind a reverse proxy on the same host every visitor comes from 127.0.0.1."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    if not current_user.is_owner:
        abort(403)  # every lead's emails: the owner's view, like Insights and Coaches
    return None


LINK = re.compile(r"(?:https?|webcal)://[^\s<>\"')]+")


@bp.get("/")
def index() -> str:
    messages = db.session.execute(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    ).scalars()
    return render_template("mailbox/index.html", messages=list(messages))


@bp.get("/<int:message_id>")
def show(message_id: int) -> str:
    message = db.get_or_404(OutboxMessage, message_id)
    links = list(dict.fromkeys(LINK.findall(message.text_body or "")))
    return render_template("mailbox/show.html", message=message, links=links)


@bp.get("/<int:message_id>/html")
def html(message_id: int):
    """The HTML body, sandboxed: shown in an iframe with its own strict policy. Its links open
    in a new tab (a page inside the frame would be refused by the app's frame-ancestors)."""
    message = db.get_or_404(OutboxMessage, message_id)
    return '<base target="_blank">' + message.html_body, 200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox",
        "X-Frame-Options": "SAMEORIGIN",
    }
