"""The lead a signed link names (unsubscribe, calendar feed): 404 for anything else."""

from __future__ import annotations

from flask import abort
from itsdangerous import BadSignature, URLSafeSerializer

from coachapp.extensions import db
from coachapp.models import Lead


def lead_for(serializer: URLSafeSerializer, token: str) -> Lead:
    """The lead in a signed ``{"lead": id}`` token; a bad signature or an erased lead is a 404."""
    try:
        data = serializer.loads(token)
    except BadSignature:
        abort(404)
    lead = db.session.get(Lead, data.get("lead")) if isinstance(data, dict) else None
    if lead is None or lead.erased_at is not None:
        abort(404)
    return lead
