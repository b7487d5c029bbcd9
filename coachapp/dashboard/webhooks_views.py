"""The owner's webhooks (Integrations): endpoints, their signing secrets, each endpoint's delivery
log with a payload view, and replay. Owner only (a coach gets a 403, as on Coaches); CSRF on every
form. The payloads hold a lead's name and email: these pages are ``no-store`` like every page."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import StringField, URLField
from wtforms.validators import DataRequired, Length

from coachapp.dashboard import bp
from coachapp.extensions import db
from coachapp.models import Lead, WebhookDelivery, WebhookEndpoint, utcnow
from coachapp.public.forms import MultiCheckboxField, choices
from coachapp.webhooks_out import endpoints, queueing
from coachapp.webhooks_out.signing import EVENT_TYPES

LOG_PAGE = 100


class EndpointForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired("Enter the URL to send events to."), Length(max=2000)],
                   description="http:// or https://; it gets a signed POST for each event you pick.")
    description = StringField("Description", validators=[Length(max=200)],
                              description="What it is, e.g. 'Zapier: new leads to the CRM'.")
    events = MultiCheckboxField("Events", validators=[DataRequired("Pick at least one event from the list.")],
                                choices=choices([(k, f"{k}: {v}") for k, v in EVENT_TYPES.items()]))


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks() -> Response | tuple[str, int]:
    form = EndpointForm()
    if request.method == "GET":
        form.events.data = ["lead.created", "assessment.completed", "session.requested"]
    elif form.validate_on_submit():
        try:
            endpoint = endpoints.create(form.url.data, form.events.data or [], form.description.data or "",
                                        current_user, utcnow())
        except endpoints.EndpointError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash("Endpoint added. Copy its signing secret below into the receiving app.", "ok")
            return redirect(url_for(".webhook_endpoint", endpoint_id=endpoint.id, reveal=1))
    counts = dict(db.session.execute(
        select(WebhookDelivery.endpoint_id, func.count()).where(WebhookDelivery.status == "failed")
        .group_by(WebhookDelivery.endpoint_id)).all())
    rows = db.session.execute(select(WebhookEndpoint).order_by(WebhookEndpoint.active.desc(),
                                                               WebhookEndpoint.id)).scalars().all()
    status = 422 if request.method == "POST" else 200
    return render_template("dashboard/webhooks.html", form=form, endpoints=rows, failed=counts), status


@bp.get("/webhooks/<int:endpoint_id>")
def webhook_endpoint(endpoint_id: int) -> str:
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    status = request.args.get("status", "")
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .order_by(WebhookDelivery.id.desc()).limit(LOG_PAGE))
    if status in ("queued", "sending", "sent", "failed"):
        query = query.where(WebhookDelivery.status == status)
    return render_template("dashboard/webhook_endpoint.html", endpoint=endpoint, status=status,
                           deliveries=db.session.execute(query).scalars().all(), events=EVENT_TYPES,
                           reveal=request.args.get("reveal") == "1")


@bp.post("/webhooks/<int:endpoint_id>/active")
def webhook_active(endpoint_id: int) -> Response:
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    endpoints.set_active(endpoint, request.form.get("active") == "1")
    db.session.commit()
    flash(f"Endpoint {'active: it gets new events' if endpoint.active else 'paused: no new events'}.", "ok")
    return redirect(url_for(".webhook_endpoint", endpoint_id=endpoint.id))


@bp.post("/webhooks/<int:endpoint_id>/delete")
def webhook_delete(endpoint_id: int) -> Response:
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    endpoints.remove(endpoint)
    db.session.commit()
    flash("Endpoint deleted, with its delivery log.", "ok")
    return redirect(url_for(".webhooks"))


@bp.get("/webhooks/deliveries/<int:delivery_id>")
def webhook_delivery(delivery_id: int) -> str:
    delivery = db.get_or_404(WebhookDelivery, delivery_id)
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    lead = db.session.get(Lead, delivery.lead_id) if delivery.lead_id else None
    return render_template("dashboard/webhook_delivery.html", d=delivery, endpoint=endpoint, lead=lead,
                           payload=json.dumps(delivery.payload, indent=2, ensure_ascii=False, sort_keys=True))


@bp.post("/webhooks/deliveries/<int:delivery_id>/replay")
def webhook_replay(delivery_id: int) -> Response:
    delivery = db.get_or_404(WebhookDelivery, delivery_id)
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    try:
        if endpoint is None or not endpoint.active:
            raise ValueError("Resume the endpoint first: a paused endpoint gets nothing.")
        queueing.replay(delivery, utcnow())
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()  # published after the commit (queueing's after_commit hook)
        flash("Delivery queued again: it goes out within seconds.", "ok")
    return redirect(url_for(".webhook_delivery", delivery_id=delivery.id))
