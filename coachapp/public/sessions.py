"""Pick a time for the strategy session, right after the form; then move or cancel it from a
signed link (coachapp.links.booking_urls). The service is coachapp.leads.scheduling."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from coachapp.emails import outbox
from coachapp.extensions import db, limiter
from coachapp.leads import scheduling
from coachapp.leads.slots import parse_slot, when_text
from coachapp.links import booking_serializer, booking_token
from coachapp.models import Booking, Coach, Lead, StrategyRequest, utcnow
from coachapp.public import bp
from coachapp.public.forms import CancelForm, SlotForm
from coachapp.public.signed import booking_for
from coachapp.rules_store import get_rules

TAKEN = "Sorry, that time was just taken. Please pick another one."


def _request_lead(token: str) -> Lead:
    req = db.session.execute(select(StrategyRequest).where(StrategyRequest.token == token)).scalar_one_or_none()
    lead = db.session.get(Lead, req.lead_id) if req is not None else None
    if lead is None or lead.erased_at is not None:
        abort(404)
    return lead


def _signed(booking: Booking) -> str:
    return booking_token(booking.id, booking.end_at)


def _picker(lead: Lead, action: str, *, moving: Booking | None = None, notice: str | None = None,
            back: str | None = None, status: int = 200) -> tuple[str, int]:
    now = utcnow()
    offer = scheduling.offer(get_rules(), lead, now, moving=moving)
    current = when_text(moving.start_at, moving.end_at, offer.zone) if moving is not None else None
    return render_template("public/session_pick.html", lead=lead, offer=offer, form=SlotForm(), action=action,
                           notice=notice, current=current, back=back, moving=moving,
                           minutes=get_rules().booking.slot_minutes), status


def picker_for(lead: Lead) -> dict[str, object]:
    """What the thanks page shows after the form: the booked session, the picker (slot picking
    on, a coach to book), or neither (the coach calls back: the page as before)."""
    current = scheduling.active_booking(lead.id)
    if current is not None:
        return {"booking": current, "booking_signed": _signed(current)}
    rules = get_rules()
    if scheduling.coach_for(rules, lead) is None:
        return {}
    return {"offer": scheduling.offer(rules, lead, utcnow()), "slot_form": SlotForm(),
            "minutes": rules.booking.slot_minutes}


@bp.route("/strategy-session/<token>/time", methods=["GET", "POST"])
@limiter.limit("30/hour", methods=["POST"])
def session_pick(token: str) -> Response | tuple[str, int]:
    """The slot picker after the strategy-session form (slot picking on and a coach to book)."""
    lead = _request_lead(token)
    thanks = url_for(".strategy_thanks", token=token)
    current = scheduling.active_booking(lead.id)
    if current is not None:  # booked already: the session page (moving it is one tap away)
        return redirect(url_for(".session_booked", signed=_signed(current)))
    if scheduling.coach_for(get_rules(), lead) is None:
        return redirect(thanks)
    action = url_for(".session_pick", token=token)
    if request.method == "GET":
        return _picker(lead, action, back=thanks)
    form = SlotForm()
    start = parse_slot(request.form.get("start"))
    if not form.validate_on_submit() or start is None:
        return _picker(lead, action, back=thanks, notice="Please pick a time.", status=422)
    try:
        booking = scheduling.book(get_rules(), lead, start, utcnow())
    except scheduling.SlotTaken:
        db.session.rollback()
        current = scheduling.active_booking(lead.id)
        if current is not None:  # a double tap: the first request booked it
            return redirect(url_for(".session_booked", signed=_signed(current)))
        return _picker(lead, action, back=thanks, notice=TAKEN, status=409)
    except scheduling.NotBookable:
        db.session.rollback()
        return redirect(thanks)
    signed = _signed(booking)
    outbox.commit()
    return redirect(url_for(".session_booked", signed=signed))


@bp.get("/session/<signed>")
def session_booked(signed: str) -> str:
    booking = booking_for(booking_serializer(), signed, utcnow())
    lead = db.session.get(Lead, booking.lead_id)
    coach = db.session.get(Coach, booking.coach_id) if booking.coach_id else None
    zone = booking.time_zone or lead.time_zone or "UTC"
    return render_template("public/session_booked.html", lead=lead, booking=booking, coach=coach, signed=signed,
                           when=when_text(booking.start_at, booking.end_at, zone),
                           details=scheduling.call_details(lead, coach) if coach else "")


@bp.route("/session/<signed>/reschedule", methods=["GET", "POST"])
@limiter.limit("30/hour", methods=["POST"])
def session_reschedule(signed: str) -> Response | tuple[str, int]:
    booking = booking_for(booking_serializer(), signed, utcnow())
    lead = db.session.get(Lead, booking.lead_id)
    manage = url_for(".session_booked", signed=signed)
    if booking.status != "booked" or booking.provider != "coachapp":
        return redirect(manage)
    action = url_for(".session_reschedule", signed=signed)
    if request.method == "GET":
        return _picker(lead, action, moving=booking, back=manage)
    form = SlotForm()
    start = parse_slot(request.form.get("start"))
    if not form.validate_on_submit() or start is None:
        return _picker(lead, action, moving=booking, back=manage, notice="Please pick a time.", status=422)
    try:
        scheduling.reschedule(get_rules(), booking, start, utcnow())
    except scheduling.SlotTaken:
        db.session.rollback()
        booking = db.session.get(Booking, booking.id)
        return _picker(lead, action, moving=booking, back=manage, notice=TAKEN, status=409)
    except scheduling.NotBookable:
        db.session.rollback()
        return redirect(manage)
    fresh = _signed(booking)
    outbox.commit()
    return redirect(url_for(".session_booked", signed=fresh))


@bp.route("/session/<signed>/cancel", methods=["GET", "POST"])
@limiter.limit("30/hour", methods=["POST"])
def session_cancel(signed: str) -> Response | str:
    booking = booking_for(booking_serializer(), signed, utcnow())
    manage = url_for(".session_booked", signed=signed)
    if booking.status != "booked" or booking.provider != "coachapp":
        return redirect(manage)
    form = CancelForm()
    if request.method == "POST" and form.validate_on_submit():
        scheduling.cancel(get_rules(), booking, utcnow())
        outbox.commit()
        return redirect(manage)
    lead = db.session.get(Lead, booking.lead_id)
    zone = booking.time_zone or lead.time_zone or "UTC"
    return render_template("public/session_cancel.html", form=form, booking=booking, manage=manage,
                           when=when_text(booking.start_at, booking.end_at, zone))
