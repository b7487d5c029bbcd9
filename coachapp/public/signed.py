"""The lead or booking a signed link names (unsubscribe, calendar feed, session links): 404 otherwise."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from itsdangerous import BadSignature, URLSafeSerializer

from coachapp.extensions import db
from coachapp.models import Booking, Lead


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


def booking_for(serializer: URLSafeSerializer, token: str, now: datetime) -> Booking:
    """The booking in a signed ``{"booking": id, "until": unix}`` link; tampered, expired (the
    session is over) or about an erased lead: 404."""
    try:
        data = serializer.loads(token)
    except BadSignature:
        abort(404)
    if not isinstance(data, dict) or not isinstance(data.get("until"), int) or data["until"] <= now.timestamp():
        abort(404)
    booking = db.session.get(Booking, data.get("booking")) if isinstance(data.get("booking"), int) else None
    lead = db.session.get(Lead, booking.lead_id) if booking is not None else None
    if lead is None or lead.erased_at is not None:
        abort(404)
    return booking
