"""The outbox: every email the app queued, its status, and resend for failed ones."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from coachapp.dashboard import bp
from coachapp.dashboard.access import lead_or_404, lead_scope
from coachapp.dashboard.views import _back
from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.models import Lead, OutboxMessage, utcnow

# --- outbox ---------------------------------------------------------------------------------

OUTBOX_PAGE = 100


@bp.get("/outbox")
def outbox_page() -> str:
    coach = current_user
    status = request.args.get("status", "")
    query = (select(OutboxMessage, Lead).outerjoin(Lead, Lead.id == OutboxMessage.lead_id)
             .order_by(OutboxMessage.id.desc()).limit(OUTBOX_PAGE))
    if not coach.is_owner:
        query = query.where(OutboxMessage.lead_id.is_not(None), lead_scope(coach))
    if status in ("queued", "sending", "sent", "failed"):
        query = query.where(OutboxMessage.status == status)
    return render_template("dashboard/outbox.html", rows=db.session.execute(query).all(), status=status)


@bp.post("/outbox/<int:message_id>/resend")
def resend_email(message_id: int) -> Response:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or (message.lead_id is None and not current_user.is_owner):
        abort(404)
    if message.lead_id is not None:
        lead_or_404(current_user, message.lead_id)
    try:
        outbox.resend(message_id, utcnow(), by=current_user.name)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        outbox.commit()
        flash("Email queued again.", "ok")
    return redirect(_back(url_for(".outbox_page")))
