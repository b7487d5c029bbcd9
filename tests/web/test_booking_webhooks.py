"""Booking webhooks through real HTTP requests (the Flask test client), on SQLite and PostgreSQL:
signature, freshness, idempotency, and what each kind does to the lead, its timeline and its
follow-up sequences."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.followups import services as followups
from coachapp.models import (
    Booking,
    CoachTask,
    Lead,
    LeadEvent,
    OutboxMessage,
    SequenceStep,
    WebhookEvent,
    utcnow,
)
from coachapp.rules_store import get_rules
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_strategy import make_coach
from tests.helpers_webhooks import (
    START,
    calcom_body,
    calendly_body,
    configure,
    iso,
    post_calcom,
    post_calendly,
)

INVITEE = "https://api.calendly.com/scheduled_events/EV1/invitees/IN1"


@pytest.fixture
def client(db_app, monkeypatch):
    configure(db_app, monkeypatch)
    return db_app.test_client()


def _count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _lead(email: str = "dana.runner@example.com") -> Lead:
    db.session.expire_all()
    return db.session.execute(select(Lead).where(Lead.email == email)).scalar_one()


def _steps(lead: Lead, sequence: str) -> dict[str, SequenceStep]:
    db.session.expire_all()
    rows = db.session.execute(select(SequenceStep).where(SequenceStep.lead_id == lead.id,
                                                         SequenceStep.sequence_id == sequence)).scalars()
    return {row.step_id: row for row in rows}


def _timeline(lead: Lead, kind: str) -> list[str]:
    return list(db.session.execute(select(LeadEvent.summary).where(LeadEvent.lead_id == lead.id, LeadEvent.kind == kind)
                                   .order_by(LeadEvent.id)).scalars())


def _nothing_stored() -> None:
    db.session.expire_all()
    assert (_count(Lead), _count(WebhookEvent), _count(Booking), _count(LeadEvent)) == (0, 0, 0, 0)


def _book(client, provider: str):
    if provider == "calcom":
        return post_calcom(client, calcom_body())
    return post_calendly(client, calendly_body())


# --- booked ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider, source", [("calcom", "Cal.com"), ("calendly", "Calendly")])
def test_a_booking_from_an_unknown_email_creates_the_lead_booked(client, provider, source):
    coach = make_coach(db)
    response = _book(client, provider)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "booked"
    lead = _lead()
    assert response.json["lead_id"] == lead.id
    assert (lead.source, lead.stage, lead.first_name, lead.last_name) == (source, "session_booked", "Dana", "Runner")
    assert lead.consent_health_at is None and lead.consent_marketing_at is None  # a booking asks for neither
    assert lead.owner_id == coach.id  # round robin, like every new lead
    booking = db.session.execute(select(Booking)).scalar_one()
    assert (booking.start_at, booking.end_at, booking.status) == (START, START + timedelta(minutes=30), "booked")
    booked = _timeline(lead, "booking")
    assert booked == [f"Session booked via {source} for {START.isoformat(timespec='minutes')} – "
                      f"{(START + timedelta(minutes=30)).isoformat(timespec='minutes')}"]
    assert any("to session booked" in s for s in _timeline(lead, "stage"))


@pytest.mark.parametrize("provider", ["calcom", "calendly"])
def test_a_booking_stops_the_sales_sequence_and_keeps_the_leads_consent(client, provider):
    lead = complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    assert {s.status for s in _steps(lead, "assessment_nurture").values()} == {"planned"}
    consent = (lead.consent_health_at, lead.consent_marketing_at)
    assert _book(client, provider).status_code == 200
    lead = _lead()
    assert lead.stage == "session_booked"
    assert (lead.consent_health_at, lead.consent_marketing_at) == consent  # not opted out by a booking
    steps = _steps(lead, "assessment_nurture")
    assert {s.status for s in steps.values()} == {"cancelled"}
    assert {s.reason for s in steps.values()} == {"Booked a strategy session."}
    assert _count(Lead) == 1  # matched by normalised email (Dana.Runner@Example.com)


def test_the_lead_page_shows_the_meeting_in_the_coachs_zone(client, db_app):
    from tests.helpers_dashboard import coach_with_password, sign_in

    owner = coach_with_password(db, email="owner@motive.example", is_owner=True, time_zone="America/Chicago")
    assert _book(client, "calcom").status_code == 200
    page = sign_in(db_app, owner).get(f"/dashboard/leads/{_lead().id}").get_data(as_text=True)
    assert "Session booked via Cal.com for Tue 4 Mar 10:00" in page  # 16:00 UTC is 10:00 in Chicago (CST)


# --- refused: forged, stale, unconfigured, malformed ---------------------------------------------


@pytest.mark.parametrize("post", [
    lambda c: post_calcom(c, calcom_body(), secret="not-the-secret"),
    lambda c: post_calcom(c, calcom_body(), signature=""),
    lambda c: post_calcom(c, calcom_body(), signature="0" * 64),
    lambda c: c.post("/webhooks/calcom", data=calcom_body(), content_type="application/json"),
    lambda c: post_calendly(c, calendly_body(), key="not-the-key"),
    lambda c: post_calendly(c, calendly_body(), signature="v1=" + "0" * 64),
    lambda c: post_calendly(c, calendly_body(), signature="t=abc,v1=" + "0" * 64),
    # "²".isdigit() is True, but it is no ASCII digit (it was a 500); nor is a 40-digit time
    lambda c: post_calendly(c, calendly_body(), signature="t=\u00b2,v1=" + "0" * 64),
    lambda c: post_calendly(c, calendly_body(), signature="t=" + "9" * 40 + ",v1=" + "0" * 64),
    lambda c: c.post("/webhooks/calendly", data=calendly_body(), content_type="application/json"),
], ids=["calcom-wrong-secret", "calcom-empty", "calcom-zeros", "calcom-missing", "calendly-wrong-key",
        "calendly-no-timestamp", "calendly-bad-timestamp", "calendly-superscript-timestamp",
        "calendly-huge-timestamp", "calendly-missing"])
def test_a_forged_or_unsigned_request_is_401_and_changes_nothing(client, post):
    response = post(client)
    assert response.status_code == 401
    assert response.json["error"] == "bad_signature"
    _nothing_stored()


def test_a_body_altered_after_signing_is_401(client):
    from coachapp.leads.booking_events import sign_calcom
    from tests.helpers_webhooks import CALCOM_SECRET

    body = calcom_body()
    forged = body.replace(b"dana.runner", b"mallory", 1).replace(b"Dana.Runner", b"Mallory", 1)
    assert post_calcom(client, forged, signature=sign_calcom(body, CALCOM_SECRET)).status_code == 401
    _nothing_stored()


def test_a_stale_request_is_401_and_changes_nothing(client):
    now = datetime.now(UTC)
    old = post_calendly(client, calendly_body(), at=now - timedelta(minutes=4))  # tolerance: 3 minutes
    ahead = post_calendly(client, calendly_body(), at=now + timedelta(minutes=4))
    calcom_old = post_calcom(client, calcom_body(created_at=now - timedelta(hours=2)))  # window: 1 hour
    assert [r.status_code for r in (old, ahead, calcom_old)] == [401, 401, 401]
    assert {r.json["error"] for r in (old, ahead, calcom_old)} == {"stale_request"}
    _nothing_stored()
    assert post_calendly(client, calendly_body(), at=now - timedelta(minutes=2)).status_code == 200


def test_without_the_secret_the_endpoint_answers_503(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "CALCOM_WEBHOOK_SECRET", None)
    monkeypatch.setitem(db_app.config, "CALENDLY_WEBHOOK_SIGNING_KEY", "")
    client = db_app.test_client()
    for response in (post_calcom(client, calcom_body()), post_calendly(client, calendly_body())):
        assert response.status_code == 503 and response.json["error"] == "not_configured"
    _nothing_stored()


@pytest.mark.parametrize("body", [b"{not json", b"[]", json.dumps({"triggerEvent": "BOOKING_CREATED"}).encode(),
                                  calcom_body().replace(b'"uid": "bk_7Yq2"', b'"uid": 7'),
                                  calcom_body().replace(b'"startTime": "2031-03-04T16:00:00Z"',
                                                        b'"startTime": "2031-03-04 16:00"')])
def test_a_signed_but_malformed_body_is_400(client, body):
    response = post_calcom(client, body)
    assert response.status_code == 400 and response.json["error"] == "malformed_event"
    _nothing_stored()


def test_an_invalid_attendee_email_is_400(client):
    response = post_calcom(client, calcom_body(email="dana@@example"))
    assert response.status_code == 400
    _nothing_stored()


@pytest.mark.parametrize("post", [
    lambda c: post_calcom(c, json.dumps({"triggerEvent": "PING", "createdAt": iso(datetime.now(UTC)),
                                         "payload": {}}).encode()),
    lambda c: post_calcom(c, calcom_body(trigger="MEETING_ENDED")),
    lambda c: post_calendly(c, calendly_body(event="routing_form_submission.created")),
], ids=["calcom-ping", "calcom-meeting-ended", "calendly-routing-form"])
def test_an_event_type_we_do_not_act_on_is_200_ignored(client, post):
    response = post(client)
    assert response.status_code == 200 and response.json["status"] == "ignored"
    _nothing_stored()


def test_the_raw_body_reaches_the_signature_check_untouched(client):
    """Input hygiene refuses JSON outside /api/ (415) and control characters (422), and CSRF wants
    a token: none of that applies to a signed webhook body — it is verified byte for byte."""
    body = calcom_body(additionalNotes="tab\there, bell \u0007, NUL \u0000")
    assert b"\\u0007" in body
    body = body.replace(b'"utm_campaign": "spring"', b'"utm_campaign": "spr\\u0000ing"')
    response = post_calcom(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "booked"
    lead = _lead()
    assert lead.utm_campaign == "spring"  # what is stored is clean all the same
    data = db.session.execute(select(LeadEvent.data).where(LeadEvent.kind == "booking")).scalar_one()
    assert data["utm_campaign"] == "spring"


# --- idempotency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["calcom", "calendly"])
def test_a_replayed_event_is_200_and_has_exactly_one_effect(client, provider):
    first, second = _book(client, provider), _book(client, provider)  # Calendly: re-signed, like a retry
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json["status"], second.json["status"]) == ("booked", "duplicate")
    lead = _lead()
    assert _count(WebhookEvent) == 1 and _count(Booking) == 1
    assert len(_timeline(lead, "booking")) == 1 and len(_timeline(lead, "stage")) == 1
    event = db.session.execute(select(WebhookEvent)).scalar_one()
    assert (event.provider, event.kind, event.lead_id, event.outcome) == (provider, "created", lead.id, "booked")


def _concurrently(app, *posts) -> list:
    """Each post in its own thread, app context and connection, released together."""
    import threading

    barrier, results = threading.Barrier(len(posts)), []

    def deliver(post) -> None:
        with app.app_context():
            barrier.wait()
            results.append(post(app.test_client()))
            db.session.remove()

    threads = [threading.Thread(target=deliver, args=(post,)) for post in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises writers on its file lock)")


def test_two_concurrent_deliveries_have_exactly_one_effect(db_app, client, database_url):
    _postgresql_only(database_url)
    complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    body = calcom_body()
    results = _concurrently(db_app, *[lambda c: post_calcom(c, body)] * 2)
    assert sorted(r.status_code for r in results) == [200, 200]
    assert sorted(r.json["status"] for r in results) == ["booked", "duplicate"]
    lead = _lead()
    assert _count(WebhookEvent) == 1 and _count(Booking) == 1
    assert len(_timeline(lead, "booking")) == 1 and len(_timeline(lead, "stage")) == 1
    assert {s.status for s in _steps(lead, "assessment_nurture").values()} == {"cancelled"}


def test_the_two_halves_of_a_calendly_reschedule_arriving_together(db_app, client, database_url):
    _postgresql_only(database_url)
    assert _book(client, "calendly").status_code == 200
    db.session.remove()
    new_uri, later = "https://api.calendly.com/scheduled_events/EV2/invitees/IN2", START + timedelta(days=1)
    cancel = calendly_body("invitee.canceled", rescheduled=True, new_invitee=new_uri)
    create = calendly_body("invitee.created", uri=new_uri, start=later, old_invitee=INVITEE)
    results = _concurrently(db_app, lambda c: post_calendly(c, cancel), lambda c: post_calendly(c, create))
    assert [r.status_code for r in results] == [200, 200]
    booking = db.session.execute(select(Booking)).scalar_one()
    assert (booking.uid, booking.start_at, booking.status) == (new_uri, later, "booked")
    assert _lead().stage == "session_booked"


# --- rescheduled, cancelled -------------------------------------------------------------------------


def test_a_calcom_reschedule_moves_the_meeting(client):
    assert _book(client, "calcom").status_code == 200
    later = START + timedelta(days=2, hours=1)
    response = post_calcom(client, calcom_body("BOOKING_RESCHEDULED", uid="bk_new", start=later,
                                               rescheduleUid="bk_7Yq2", rescheduleStartTime=iso(START)))
    assert response.status_code == 200 and response.json["status"] == "rescheduled"
    booking = db.session.execute(select(Booking)).scalar_one()
    assert (booking.uid, booking.start_at, booking.end_at) == ("bk_new", later, later + timedelta(minutes=30))
    lead = _lead()
    assert lead.stage == "session_booked"
    assert _timeline(lead, "booking")[-1].startswith(
        f"Session moved via Cal.com from {START.isoformat(timespec='minutes')}")
    assert later.isoformat(timespec="minutes") in _timeline(lead, "booking")[-1]


@pytest.mark.parametrize("order", ["cancel-first", "create-first"])
def test_a_calendly_reschedule_moves_the_meeting_whatever_the_order(client, order):
    assert _book(client, "calendly").status_code == 200
    new_uri, later = "https://api.calendly.com/scheduled_events/EV2/invitees/IN2", START + timedelta(days=1)
    cancel = calendly_body("invitee.canceled", rescheduled=True, new_invitee=new_uri)
    create = calendly_body("invitee.created", uri=new_uri, start=later, old_invitee=INVITEE)
    for body in ([cancel, create] if order == "cancel-first" else [create, cancel]):
        assert post_calendly(client, body).status_code == 200
    booking = db.session.execute(select(Booking)).scalar_one()
    assert (booking.uid, booking.start_at, booking.status) == (new_uri, later, "booked")
    lead = _lead()
    assert lead.stage == "session_booked"
    assert _count(CoachTask, CoachTask.kind == "booking_cancelled") == 0  # a reschedule is no cancellation


@pytest.mark.parametrize("provider", ["calcom", "calendly"])
def test_a_cancellation_returns_the_lead_and_asks_the_coach_to_follow_up(client, provider):
    coach = make_coach(db)
    complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    assert _book(client, provider).status_code == 200
    if provider == "calcom":
        response = post_calcom(client, calcom_body("BOOKING_CANCELLED", cancellationReason="Sick"))
    else:
        response = post_calendly(client, calendly_body("invitee.canceled"))
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    lead = _lead()
    assert lead.stage == "new"  # where it was before booking: a coach picks it up from there
    task = db.session.execute(select(CoachTask).where(CoachTask.kind == "booking_cancelled")).scalar_one()
    assert (task.status, task.coach_id, task.lead_id) == ("open", coach.id, lead.id)
    assert task.due_at > utcnow()
    assert db.session.execute(select(Booking.status)).scalar_one() == "cancelled"
    assert _timeline(lead, "booking")[-1].startswith("Booking cancelled via")
    # the sales sequence stopped by the booking stays stopped: a person to call, not a nurture
    assert {s.status for s in _steps(lead, "assessment_nurture").values()} == {"cancelled"}


# --- no-show ----------------------------------------------------------------------------------------


def _no_show(client, provider: str, undo: bool = False):
    if provider == "calcom":
        return post_calcom(client, calcom_body("BOOKING_NO_SHOW_UPDATED", noShow=not undo))
    return post_calendly(client, calendly_body("invitee_no_show.deleted" if undo else "invitee_no_show.created"))


@pytest.mark.parametrize("provider", ["calcom", "calendly"])
def test_a_no_show_starts_the_rebooking_sequence_and_its_email_goes_out(client, provider):
    complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    assert _book(client, provider).status_code == 200
    response = _no_show(client, provider)
    assert response.status_code == 200 and response.json["status"] == "no_show"
    lead = _lead()
    assert lead.stage == "no_show"
    assert db.session.execute(select(Booking.status)).scalar_one() == "no_show"
    rebook = _steps(lead, "no_show")
    assert list(rebook) == ["rebook"] and rebook["rebook"].status == "planned"
    assert followups.sweep(get_rules(), rebook["rebook"].due_at) == {"queued": 1}
    message = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.purpose_key == f"sequence:{lead.id}:no_show:rebook")).scalar_one()
    assert message.to_address.lower() == "dana.runner@example.com"


def test_a_no_show_never_emails_a_lead_who_unsubscribed(client):
    lead = complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    assert _book(client, "calcom").status_code == 200
    lead = _lead()
    lead.unsubscribed_all_at = utcnow()
    db.session.commit()
    assert _no_show(client, "calcom").status_code == 200
    lead = _lead()
    assert lead.stage == "no_show"
    rebook = _steps(lead, "no_show")
    assert {s.status for s in rebook.values()} <= {"cancelled"}
    followups.sweep(get_rules(), START + timedelta(days=30))
    assert _count(OutboxMessage, OutboxMessage.kind == "sequence:no_show") == 0


def test_a_bounced_lead_gets_no_rebooking_email_either(client):
    assert _book(client, "calendly").status_code == 200
    lead = _lead()
    lead.bounced_at = utcnow()
    db.session.commit()
    assert _no_show(client, "calendly").status_code == 200
    followups.sweep(get_rules(), START + timedelta(days=30))
    assert _count(OutboxMessage, OutboxMessage.kind == "sequence:no_show") == 0


@pytest.mark.parametrize("provider", ["calcom", "calendly"])
def test_undoing_a_no_show_stops_the_rebooking_email(client, provider):
    past = datetime.now(UTC) - timedelta(hours=3)
    body = calcom_body(start=past) if provider == "calcom" else calendly_body(start=past)
    assert (post_calcom if provider == "calcom" else post_calendly)(client, body).status_code == 200
    assert _no_show(client, provider).status_code == 200
    response = _no_show(client, provider, undo=True)
    assert response.status_code == 200 and response.json["status"] == "no_show_undone"
    lead = _lead()
    assert lead.stage == "session_held"  # the meeting is over and they were there
    assert {s.status for s in _steps(lead, "no_show").values()} == {"cancelled"}


def test_a_form_content_type_does_not_consume_the_signed_body(client):
    """Nothing before the view (CSRF, hygiene) parses a webhook's body as a form."""
    body = calcom_body()
    response = client.post("/webhooks/calcom", data=body, content_type="application/x-www-form-urlencoded",
                           headers={"X-Cal-Signature-256": _sign(body)})
    assert response.status_code == 200 and response.json["status"] == "booked"


def _sign(body: bytes) -> str:
    from coachapp.leads.booking_events import sign_calcom
    from tests.helpers_webhooks import CALCOM_SECRET

    return sign_calcom(body, CALCOM_SECRET)


def test_a_reschedule_of_a_booking_we_never_saw_is_taken_as_the_booking(client):
    response = post_calcom(client, calcom_body("BOOKING_RESCHEDULED", uid="bk_new", rescheduleUid="bk_gone"))
    assert response.status_code == 200 and response.json["status"] == "booked"
    assert db.session.execute(select(Booking.uid)).scalar_one() == "bk_new"
    assert _lead().stage == "session_booked"


def test_erasing_the_lead_erases_its_bookings(client):
    from coachapp.leads.actions import erase

    owner = make_coach(db, is_owner=True)
    assert _book(client, "calendly").status_code == 200
    erase(_lead(), owner, utcnow())
    db.session.commit()
    assert _count(Booking) == 0
    assert _count(WebhookEvent) == 1  # no personal data in it; a replay stays a duplicate


def test_webhooks_are_rate_limited_per_address_like_the_api(rate_limited_app, monkeypatch):
    configure(rate_limited_app, monkeypatch)
    client = rate_limited_app.test_client()
    codes = [client.post("/webhooks/calcom", data=b"{}", content_type="application/json").status_code
             for _ in range(121)]
    assert set(codes[:120]) == {401} and codes[120] == 429
    assert client.post("/webhooks/calcom", data=b"{}").json["error"] == "too_many_requests"


@pytest.mark.parametrize("post", [
    lambda c: post_calcom(c, calcom_body("BOOKING_CANCELLED")),
    lambda c: post_calcom(c, calcom_body("BOOKING_NO_SHOW_UPDATED")),
    lambda c: post_calendly(c, calendly_body("invitee.canceled")),
    lambda c: post_calendly(c, calendly_body("invitee_no_show.created")),
], ids=["calcom-cancelled", "calcom-no-show", "calendly-canceled", "calendly-no-show"])
def test_news_about_a_booking_we_never_saw_creates_no_lead(client, post):
    response = post(client)
    assert response.status_code == 200 and response.json["status"] == "unknown_booking"
    assert _count(Lead) == 0 and _count(Booking) == 0
    assert db.session.execute(select(WebhookEvent.outcome)).scalar_one() == "unknown_booking"


def test_an_erased_lead_is_not_brought_back_by_a_later_event(client):
    from coachapp.leads.actions import erase

    owner = make_coach(db, is_owner=True)
    assert _book(client, "calcom").status_code == 200
    erase(_lead(), owner, utcnow())
    db.session.commit()
    assert post_calcom(client, calcom_body("BOOKING_CANCELLED")).json["status"] == "unknown_booking"
    assert _count(Lead, Lead.email == "dana.runner@example.com") == 0
