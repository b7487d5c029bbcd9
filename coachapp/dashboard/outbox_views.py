"""The outbox: every email the app queued, each one readable, and resend for failed ones.

A coach who is not the owner sees only emails of leads they may see (``access.py``), never an
email without a lead (digests, owner escalations); anything else is a 404, as for leads.

An email's HTML is the app's own rendering, but it holds what a prospect typed, so it is never
put into a dashboard page: the detail page frames ``/outbox/<id>/body``, which answers with its
own policy — no scripts, nothing loaded but inline styles and ``data:``/``https:`` images, an
opaque origin (CSP ``sandbox``), framable only by the app itself. Health data: ``no-store``.
"""

from __future__ import annotations

import re

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from coachapp.dashboard import bp
from coachapp.dashboard.access import lead_or_404, lead_scope
from coachapp.dashboard.timeline import rules_used
from coachapp.dashboard.views import _back
from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.models import Coach, Lead, LeadEvent, OutboxMessage, utcnow
from coachapp.models.outbox import OUTBOX_STATUSES
from coachapp.rules_store import files_rules
from coachapp.rules_versions.services import by_hash

OUTBOX_PAGE = 100

#: Plain names for the ``kind`` of every email the code queues (``queue_email(kind=...)``);
#: sequence emails are ``sequence:<id>`` from rules/sequences.yaml. tests/dashboard checks
#: that no kind in the code is missing here.
KIND_LABELS = {
    "assessment_plan": "Plan email",
    "clinician_first": "See-a-clinician email",
    "strategy_confirmation": "Strategy session confirmation",
    "coach_notification": "Coach alert (new request or red flag)",
    "task_due": "Task due (to the coach)",
    "session_booked": "Session booked (invite)",
    "session_moved": "Session moved (updated invite)",
    "session_cancelled": "Session cancelled (cancel invite)",
    "session_booked_coach": "Session booked (invite, to the coach)",
    "session_moved_coach": "Session moved (invite, to the coach)",
    "session_cancelled_coach": "Session cancelled (to the coach)",
    "session_reminder": "Session reminder",
    "task_overdue": "Overdue task (to the owner)",
    "coach_digest": "Coach digest",
    "sequence:assessment_nurture": "Nurture email (after the assessment)",
    "sequence:strategy_requested": "Strategy request reminder (to the coach)",
    "sequence:no_show": "No-show rebooking",
    "sequence:red_flag": "Clinician advice (red flag)",
}

#: Timeline events about one email (``emails/outbox.py`` writes them with ``outbox_id``).
EMAIL_EVENTS = ("email_queued", "email_sent", "email_failed", "bounced")

#: The policy of the framed HTML body (the app's global CSP would refuse its inline styles).
BODY_CSP = "; ".join([
    "default-src 'none'",
    "img-src data: https:",
    "style-src 'unsafe-inline'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    # Opaque origin, no scripts; links may open a new tab (the <base> below) outside the sandbox.
    "sandbox allow-popups allow-popups-to-escape-sandbox",
])
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_BASE = '<base target="_blank">'


@bp.app_template_filter("email_kind")
def kind_label(kind: str) -> str:
    """'Plan email' for ``assessment_plan``; unknown kinds still read as words."""
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    if kind.startswith("sequence:"):
        return "Sequence: " + kind.split(":", 1)[1].replace("_", " ")
    return kind.replace("_", " ").capitalize()


def _visible(coach: Coach, query):
    """Limit an outbox query (joined to Lead) to what ``coach`` may see."""
    if coach.is_owner:
        return query
    return query.where(OutboxMessage.lead_id.is_not(None), lead_scope(coach))


def _message_or_404(coach: Coach, message_id: int) -> tuple[OutboxMessage, Lead | None]:
    """The email and its lead, if this coach may see it; 404 otherwise (as for leads)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or (message.lead_id is None and not coach.is_owner):
        abort(404)
    lead = lead_or_404(coach, message.lead_id) if message.lead_id is not None else None
    return message, lead


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/outbox")
def outbox_page() -> Response:
    coach = current_user
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    query = (select(OutboxMessage, Lead).outerjoin(Lead, Lead.id == OutboxMessage.lead_id)
             .order_by(OutboxMessage.id.desc()).limit(OUTBOX_PAGE))
    query = _visible(coach, query)
    if status in OUTBOX_STATUSES:
        query = query.where(OutboxMessage.status == status)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    kinds = db.session.execute(_visible(coach, (
        select(OutboxMessage.kind).outerjoin(Lead, Lead.id == OutboxMessage.lead_id).distinct()))).scalars().all()
    kinds = sorted(kinds, key=lambda k: kind_label(k).lower())
    return _no_store(Response(render_template(
        "dashboard/outbox.html", rows=db.session.execute(query).all(), status=status, statuses=OUTBOX_STATUSES,
        kind=kind, kinds=kinds)))


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int) -> Response:
    message, lead = _message_or_404(current_user, message_id)
    history = []
    if lead is not None:
        events = db.session.execute(
            select(LeadEvent).where(LeadEvent.lead_id == lead.id, LeadEvent.kind.in_(EMAIL_EVENTS))
            .order_by(LeadEvent.created_at, LeadEvent.id)
        ).scalars()
        history = [e for e in events if e.email_id == message.id]
    used = rules_used([message.rules_version], by_hash([message.rules_version]), files_rules().version)
    return _no_store(Response(render_template(
        "dashboard/outbox_message.html", m=message, lead=lead, headers=_headers(message), history=history,
        rules=used.get(message.rules_version or ""))))


def _headers(message: OutboxMessage) -> list[tuple[str, str]]:
    """The headers the email goes out with (From and Reply-To come from the settings at send time)."""
    config = current_app.config
    rows = [("From", config["MAIL_FROM"]), ("To", message.to_address), ("Subject", message.subject)]
    if config.get("MAIL_REPLY_TO"):
        rows.append(("Reply-To", config["MAIL_REPLY_TO"]))
    rows += [(str(k), str(v)) for k, v in (message.headers or {}).items()]
    rows.append(("Message-ID", message.message_id))
    return rows


@bp.get("/outbox/<int:message_id>/body")
def outbox_body(message_id: int) -> Response:
    """The HTML body alone, for the detail page's sandboxed frame."""
    message, _ = _message_or_404(current_user, message_id)
    html = message.html_body or ""
    html = _HEAD.sub(lambda m: m.group(0) + _BASE, html, count=1) if _HEAD.search(html) else _BASE + html
    return Response(html, headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": BODY_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    })


@bp.post("/outbox/<int:message_id>/resend")
def resend_email(message_id: int) -> Response:
    _message_or_404(current_user, message_id)
    try:
        outbox.resend(message_id, utcnow(), by=current_user.name)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        outbox.commit()
        flash("Email queued again.", "ok")
    return redirect(_back(url_for(".outbox_page")))
