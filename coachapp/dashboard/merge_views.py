"""Merge two leads from the lead page: find the other record, compare side by side, confirm.

The owner may merge any two leads; a coach, two leads they can both see (``access.py``).
The service (``leads/merge.py``) does the work in one transaction; the merged lead's URL then
redirects to the survivor (``views.lead``).
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from coachapp.dashboard import bp
from coachapp.dashboard.access import lead_or_404, lead_scope
from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.leads import merge
from coachapp.models import (
    AssessmentSubmission,
    Booking,
    Coach,
    CoachTask,
    Enrollment,
    Lead,
    LeadEvent,
    OutboxMessage,
    StrategyRequest,
    utcnow,
)
from coachapp.rules_store import get_rules

RESULTS = 20
COUNTED = {"Assessments": AssessmentSubmission, "Strategy requests": StrategyRequest, "Tasks": CoachTask,
           "Emails": OutboxMessage, "Timeline entries": LeadEvent, "Sequences": Enrollment, "Bookings": Booking}


@bp.get("/leads/<int:lead_id>/merge")
def merge_search(lead_id: int) -> str:
    lead = lead_or_404(current_user, lead_id)
    q = request.args.get("q", "").strip()[:100]
    results: list[Lead] = []
    if q:
        needle = q.lower()
        results = list(db.session.execute(
            select(Lead).where(lead_scope(current_user), Lead.erased_at.is_(None), Lead.id != lead.id, or_(
                Lead.email.contains(needle, autoescape=True),
                func.lower(Lead.first_name).contains(needle, autoescape=True),
                func.lower(Lead.last_name).contains(needle, autoescape=True)))
            .order_by(Lead.created_at).limit(RESULTS)).scalars())
    return render_template("dashboard/merge_search.html", lead=lead, q=q, results=results)


def _pair(lead_id: int, other_id: int) -> tuple[Lead, Lead] | None:
    a, b = lead_or_404(current_user, lead_id), lead_or_404(current_user, other_id)
    if a.id == b.id:
        flash("A lead cannot be merged with itself.", "error")
        return None
    return a, b


@bp.get("/leads/<int:lead_id>/merge/<int:other_id>")
def merge_compare(lead_id: int, other_id: int) -> str | Response:
    pair = _pair(lead_id, other_id)
    if pair is None:
        return redirect(url_for(".merge_search", lead_id=lead_id))
    a, b = pair
    older = merge.older_of(a, b)
    counts = {lead.id: {label: db.session.scalar(select(func.count()).select_from(model)
                                                 .where(model.lead_id == lead.id))
                        for label, model in COUNTED.items()} for lead in (a, b)}
    owners = {c.id: c.name for c in db.session.execute(select(Coach)).scalars()}
    return render_template("dashboard/merge.html", a=a, b=b, older=older, fields=merge.CHOICES,
                           differing=merge.differences(a, b), first_touch=merge.FIRST_TOUCH, counts=counts,
                           owners=owners)


@bp.post("/leads/<int:lead_id>/merge/<int:other_id>")
def merge_confirm(lead_id: int, other_id: int) -> Response:
    pair = _pair(lead_id, other_id)
    if pair is None:
        return redirect(url_for(".merge_search", lead_id=lead_id))
    a, b = pair
    raw = request.form.get("survivor", "")
    survivor = a if raw == str(a.id) else b if raw == str(b.id) else merge.older_of(a, b)
    merged = b if survivor is a else a
    choices = {field: ("merged" if request.form.get(field) == str(merged.id) else "survivor")
               for field in merge.CHOICES}
    try:
        merge.merge(get_rules(), survivor.id, merged.id, choices, current_user._get_current_object(), utcnow())
    except merge.MergeError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".lead", lead_id=lead_id))
    outbox.commit()
    flash(f"Lead #{merged.id} was merged into this lead; its old address now leads here.", "ok")
    return redirect(url_for(".lead", lead_id=survivor.id))
