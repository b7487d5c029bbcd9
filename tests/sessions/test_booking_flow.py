"""Pick a time in the same flow: form → picker → booked; invites; move; cancel; signed links.
Through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import select

from coachapp.emails.messages import to_mime
from coachapp.extensions import db
from coachapp.leads.slots import parse_slot
from coachapp.links import booking_token, unsubscribe_token
from coachapp.models import Booking, CoachTask, Lead, SequenceStep, utcnow
from tests.helpers_strategy import make_coach
from tests.sessions.helpers import ALWAYS, emails, request_session, slots_in


def _ics(message):
    cal = Calendar.from_ical(message.ics)
    return cal, cal.walk("VEVENT")[0]


def _book(web, token: str, slot: str):
    return web.post(f"/strategy-session/{token}/time", {"start": slot})


def test_form_then_picker_then_booked_with_invites_stage_and_sales_steps_stopped(web):
    coach = make_coach(db, working_hours=ALWAYS)
    token, thanks = request_session(web, time_zone="America/Denver")
    assert "Pick a time for your call" in thanks and "What happens next" in thanks  # call back still offered
    assert "Mountain" in thanks or "Denver" in thanks  # shown in the zone they gave
    slots = slots_in(thanks)
    assert slots, thanks[:3000]
    response = _book(web, token, slots[0])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "You&#39;re booked" in page or "You're booked" in page
    assert "Pick another time" in page and "Cancel the session" in page

    booking = db.session.execute(select(Booking)).scalar_one()
    lead = db.session.get(Lead, booking.lead_id)
    assert (booking.provider, booking.coach_id, booking.status, booking.sequence) == ("coachapp", coach.id, "booked", 0)
    assert booking.start_at == parse_slot(slots[0]) and booking.end_at - booking.start_at == timedelta(minutes=30)
    assert lead.stage == "session_booked" and booking.stage_before == "new"
    assert not db.session.execute(select(SequenceStep).where(SequenceStep.lead_id == lead.id,
                                                             SequenceStep.status == "planned")).first()
    runner, to_coach = emails("session_booked")[0], emails("session_booked_coach")[0]
    assert runner.to_address == "dana.runner@example.com" and to_coach.to_address == coach.email
    assert "/reschedule" in runner.text_body and "/cancel" in runner.text_body
    for message in (runner, to_coach):
        cal, event = _ics(message)
        assert str(cal["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == booking.start_at
        assert str(event["UID"]) == f"session-{booking.uid}@coach.test"
    mime = to_mime(runner, "coach@motive.example")
    parts = [p for p in mime.walk() if p.get_content_type() == "text/calendar"]
    assert parts and all(p.get_param("method") == "REQUEST" for p in parts)
    assert any(p.get_filename() == "invite.ics" for p in parts)
    # the form again after booking: the thanks page shows the session, not a second picker
    again = web.get(f"/strategy-session/thanks/{token}").get_data(as_text=True)
    assert "Your session is booked" in again and 'name="start"' not in again


def test_a_slot_just_taken_is_refused_with_fresh_slots(web):
    make_coach(db, working_hours=ALWAYS)
    first, html = request_session(web)
    slot = slots_in(html)[0]
    assert _book(web, first, slot).status_code == 302
    second, html2 = request_session(web, email="lee@example.com", first_name="Lee")
    assert slot not in slots_in(html2)  # fresh slots leave it out
    response = _book(web, second, slot)  # a stale page posts it anyway
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "just taken" in page
    assert slot not in slots_in(page) and slots_in(page)
    assert len(db.session.execute(select(Booking)).scalars().all()) == 1


def test_reschedule_keeps_the_uid_raises_the_sequence_and_frees_the_old_slot(web):
    make_coach(db, working_hours=ALWAYS)
    token, html = request_session(web)
    old, new = slots_in(html)[0], slots_in(html)[3]
    manage = _book(web, token, old).headers["Location"]
    picker = web.get(manage + "/reschedule").get_data(as_text=True)
    assert "Pick a new time" in picker and old not in slots_in(picker)  # its own slot is its current time
    response = web.post(manage + "/reschedule", {"start": new})
    assert response.status_code == 302
    booking = db.session.execute(select(Booking)).scalar_one()
    assert booking.start_at == parse_slot(new) and booking.sequence == 1 and booking.status == "booked"
    moved = emails("session_moved")[0]
    cal, event = _ics(moved)
    first = _ics(emails("session_booked")[0])[1]
    assert str(cal["METHOD"]) == "REQUEST" and str(event["UID"]) == str(first["UID"]) and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == parse_slot(new)
    _, other = request_session(web, email="kim@example.com", first_name="Kim")
    assert old in slots_in(other)  # the old slot is free again


def test_cancel_asks_first_then_sends_cancel_invites_and_moves_the_stage_back(web):
    make_coach(db, working_hours=ALWAYS)
    token, html = request_session(web)
    manage = _book(web, token, slots_in(html)[0]).headers["Location"]
    confirm = web.get(manage + "/cancel")
    assert confirm.status_code == 200 and "Yes, cancel the session" in confirm.get_data(as_text=True)
    assert db.session.execute(select(Booking.status)).scalar_one() == "booked"  # a GET changes nothing
    response = web.post(manage + "/cancel", {})
    assert response.status_code == 302
    assert "is cancelled" in web.get(response.headers["Location"]).get_data(as_text=True)
    booking = db.session.execute(select(Booking)).scalar_one()
    lead = db.session.get(Lead, booking.lead_id)
    assert booking.status == "cancelled" and booking.sequence == 1 and lead.stage == "new"
    task = db.session.execute(select(CoachTask).where(CoachTask.kind == "booking_cancelled")).scalar_one()
    assert task.status == "open"
    for message in (emails("session_cancelled")[0], emails("session_cancelled_coach")[0]):
        cal, event = _ics(message)
        assert str(cal["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 1
        assert str(event["UID"]) == f"session-{booking.uid}@coach.test"
    assert web.post(manage + "/cancel", {}).status_code == 302  # twice: nothing more
    assert len(emails("session_cancelled")) == 1


def test_tampered_expired_or_foreign_links_are_refused(web):
    make_coach(db, working_hours=ALWAYS)
    token, html = request_session(web)
    manage = _book(web, token, slots_in(html)[0]).headers["Location"]
    signed = manage.rsplit("/", 1)[1]
    booking = db.session.execute(select(Booking)).scalar_one()
    tampered = signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")
    expired = booking_token(booking.id, utcnow() - timedelta(minutes=1))
    foreign = unsubscribe_token(booking.lead_id)  # same key, another salt
    for bad in (tampered, expired, foreign):
        for path in (f"/session/{bad}", f"/session/{bad}/reschedule", f"/session/{bad}/cancel"):
            assert web.get(path).status_code == 404, path
        assert web.post(f"/session/{bad}/cancel", {}).status_code == 404
    assert db.session.execute(select(Booking.status)).scalar_one() == "booked"


def test_slot_picking_off_keeps_the_thanks_page_as_it_was(web, app):
    make_coach(db, working_hours=ALWAYS)
    rules = app.extensions["coachapp.rules"]
    app.extensions["coachapp.rules"] = dataclasses.replace(
        rules, booking=dataclasses.replace(rules.booking, slot_picking=False))
    try:
        token, thanks = request_session(web)
        assert "Pick a time" not in thanks and 'name="start"' not in thanks
        assert "Sam will call you by" in thanks
        assert web.get(f"/strategy-session/{token}/time").status_code == 302  # back to the thanks page
    finally:
        app.extensions["coachapp.rules"] = rules


def test_the_invite_arrives_over_real_smtp_as_a_calendar_part_and_a_file(web, db_app, smtp_server, monkeypatch):
    from coachapp.emails import outbox

    monkeypatch.setitem(db_app.config, "SMTP_URL", smtp_server.url)
    make_coach(db, working_hours=ALWAYS)
    token, html = request_session(web)
    _book(web, token, slots_in(html)[0])
    message = emails("session_booked")[0]
    assert outbox.deliver(message.id) == "sent"
    mail = smtp_server.wait_for(1)[0]
    assert mail["Message-ID"] == message.message_id
    calendars = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    assert {part.get_param("method") for part in calendars} == {"REQUEST"}
    assert [part.get_filename() for part in calendars] == [None, "invite.ics"]
    assert {part.get_content_type() for part in mail.walk()} >= {"text/plain", "text/html", "multipart/alternative"}
    parsed = Calendar.from_ical(calendars[1].get_payload(decode=True))
    booking = db.session.execute(select(Booking)).scalar_one()
    assert parsed.walk("VEVENT")[0].decoded("DTSTART") == booking.start_at


def test_the_outbox_page_says_an_invite_is_attached(db_app, web):
    from tests.helpers_dashboard import coach_with_password, sign_in

    coach = coach_with_password(db, working_hours=ALWAYS, is_owner=True)
    token, html = request_session(web)
    _book(web, token, slots_in(html)[0])
    message = emails("session_booked")[0]
    page = sign_in(db_app, coach).get(f"/dashboard/outbox/{message.id}").get_data(as_text=True)
    assert "Calendar invite" in page and "invite.ics" in page
    assert coach.id  # the owner sees every email
