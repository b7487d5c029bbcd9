"""Who may see which lead: the owner sees all; a coach sees their own and unassigned leads."""

from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, or_, true

from coachapp.extensions import db
from coachapp.leads.services import can_see
from coachapp.models import Coach, Lead


def lead_scope(coach: Coach) -> ColumnElement[bool]:
    """A WHERE clause limiting leads to what ``coach`` may see."""
    if coach.is_owner:
        return true()
    return or_(Lead.owner_id == coach.id, Lead.owner_id.is_(None))


def lead_or_404(coach: Coach, lead_id: int) -> Lead:
    """The lead, if this coach may see it; 404 otherwise (existence is not revealed)."""
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.erased_at is not None or not can_see(coach, lead):
        abort(404)
    return lead


#: Endpoints only the owner may open, by name prefix (checked once per request by the blueprint):
#: the CSV import, rules versions with their editor, preview, what-if and replay, webhooks, and
#: the priority-weights fit.
OWNER_ONLY = ("dashboard.import", "dashboard.rules_", "dashboard.webhook", "dashboard.insights_weights")


def require_owner(coach: Coach) -> None:
    if not coach.is_owner:
        abort(403)
