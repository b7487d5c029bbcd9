"""The pure half of the booking webhooks: signatures, freshness, and one event shape from both providers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from coachapp.leads.booking_events import (
    BadSignature,
    MalformedEvent,
    StaleRequest,
    read_calcom,
    read_calendly,
    sign_calcom,
    sign_calendly,
)
from tests.helpers_webhooks import CALCOM_SECRET, CALENDLY_KEY, START, calcom_body, calendly_body, iso

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
INVITEE = "https://api.calendly.com/scheduled_events/EV1/invitees/IN1"


def calcom(body: bytes, now: datetime = NOW, **kwargs):
    return read_calcom(body, sign_calcom(body, CALCOM_SECRET), CALCOM_SECRET, now, **kwargs)


def calendly(body: bytes, at: datetime = NOW, now: datetime = NOW, **kwargs):
    header = sign_calendly(body, CALENDLY_KEY, int(at.timestamp()))
    return read_calendly(body, header, CALENDLY_KEY, now, **kwargs)


def test_calcom_booking_created_reads_into_one_event():
    event = calcom(calcom_body(created_at=NOW)).event
    assert (event.provider, event.kind, event.uid, event.event_id) == ("calcom", "created", "bk_7Yq2",
                                                                        "BOOKING_CREATED:bk_7Yq2")
    assert (event.email, event.name, event.time_zone) == ("Dana.Runner@Example.com", "Dana Runner", "Europe/London")
    assert (event.start, event.end) == (START, START + timedelta(minutes=30))
    assert event.start.tzinfo is UTC
    assert dict(event.utm) == {"utm_source": "newsletter", "utm_campaign": "spring"}


def test_calcom_signature_covers_every_byte_and_is_hex_hmac_sha256():
    import hashlib
    import hmac

    body = calcom_body(created_at=NOW)
    assert sign_calcom(body, CALCOM_SECRET) == hmac.new(CALCOM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    signature = sign_calcom(body, CALCOM_SECRET)
    assert read_calcom(body, signature.upper(), CALCOM_SECRET, NOW).event is not None  # hex is hex
    for tampered in (body + b" ", body.replace(b"Dana", b"Dena", 1), body[:-1]):
        with pytest.raises(BadSignature):
            read_calcom(tampered, signature, CALCOM_SECRET, NOW)
    for header in (None, "", "no-secret-provided", signature[:-2], "é" * 64):
        with pytest.raises(BadSignature):
            read_calcom(body, header, CALCOM_SECRET, NOW)


def test_calcom_freshness_comes_from_the_signed_created_at():
    body = calcom_body(created_at=NOW - timedelta(minutes=59))
    assert calcom(body).event is not None
    with pytest.raises(StaleRequest):
        calcom(calcom_body(created_at=NOW - timedelta(minutes=61)))
    with pytest.raises(StaleRequest):
        calcom(calcom_body(created_at=NOW + timedelta(minutes=6)))
    assert calcom(calcom_body(created_at=NOW - timedelta(hours=5)), max_age=6 * 3600).event is not None
    without = json.dumps({"triggerEvent": "BOOKING_CANCELLED",
                          "payload": json.loads(calcom_body())["payload"]}).encode()
    assert calcom(without).event.kind == "cancelled"  # no createdAt: the stored event id guards replays


def test_calcom_reschedule_names_the_booking_it_replaces():
    body = calcom_body("BOOKING_RESCHEDULED", uid="bk_new", created_at=NOW, rescheduleUid="bk_7Yq2")
    event = calcom(body).event
    assert (event.kind, event.uid, event.previous_uid, event.event_id) == (
        "rescheduled", "bk_new", "bk_7Yq2", "BOOKING_RESCHEDULED:bk_new")


def test_calcom_cancellation_that_is_half_a_reschedule_says_so():
    plain = calcom(calcom_body("BOOKING_CANCELLED", created_at=NOW)).event
    half = calcom(calcom_body("BOOKING_CANCELLED", created_at=NOW, rescheduled=True)).event
    assert (plain.rescheduling, half.rescheduling) == (False, True)


def test_calcom_no_show_marks_and_unmarks():
    marked = calcom(calcom_body("BOOKING_NO_SHOW_UPDATED", created_at=NOW, noShow=True)).event
    unmarked = calcom(calcom_body("BOOKING_NO_SHOW_UPDATED", created_at=NOW, noShow=False)).event
    assert (marked.kind, unmarked.kind) == ("no_show", "no_show_undone")
    assert marked.uid == unmarked.uid == "bk_7Yq2" and marked.event_id != unmarked.event_id
    assert "@" not in marked.event_id  # ids end up in logs: nothing personal


def test_calcom_other_triggers_are_verified_then_ignored():
    received = calcom(calcom_body("MEETING_ENDED", created_at=NOW))
    assert (received.trigger, received.event) == ("MEETING_ENDED", None)
    with pytest.raises(BadSignature):  # ignored only once verified
        read_calcom(calcom_body("MEETING_ENDED"), "0" * 64, CALCOM_SECRET, NOW)


@pytest.mark.parametrize("body", [b"", b"{", b"null", b'{"triggerEvent": 1, "payload": {}}',
                                  b'{"triggerEvent": "BOOKING_CREATED", "payload": {"uid": "x"}}',
                                  b'{"triggerEvent": "BOOKING_CREATED", "createdAt": NaN, "payload": {}}',
                                  b'{"triggerEvent": "BOOKING_CREATED", "createdAt": "yesterday", "payload": {}}',
                                  b"[" * 100000 + b"]" * 100000])
def test_calcom_malformed_bodies(body):
    with pytest.raises(MalformedEvent):
        calcom(body)


def test_calendly_invitee_created_reads_into_the_same_shape():
    event = calendly(calendly_body(created_at=iso(NOW))).event
    assert (event.provider, event.kind, event.uid) == ("calendly", "created", INVITEE)
    assert event.event_id == f"invitee.created:{INVITEE}"
    assert (event.email, event.name, event.time_zone) == ("dana.runner@example.com", "Dana Runner", "America/New_York")
    assert (event.start, event.end) == (START, START + timedelta(minutes=30))
    assert dict(event.utm) == {"utm_source": "instagram", "utm_medium": "social"}


def test_calendly_signature_is_over_timestamp_dot_body_within_the_tolerance():
    import hashlib
    import hmac

    body = calendly_body()
    stamp = int(NOW.timestamp())
    expected = hmac.new(CALENDLY_KEY.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign_calendly(body, CALENDLY_KEY, stamp) == f"t={stamp},v1={expected}"
    assert read_calendly(body, f"t={stamp},v1=deadbeef,v1={expected}", CALENDLY_KEY, NOW).event  # any v1 may match
    with pytest.raises(BadSignature):  # the timestamp is signed: moving it breaks the signature
        read_calendly(body, f"t={stamp + 60},v1={expected}", CALENDLY_KEY, NOW)
    for header in (None, "", f"v1={expected}", f"t={stamp}", f"t=,v1={expected}", "garbage"):
        with pytest.raises(BadSignature):
            read_calendly(body, header, CALENDLY_KEY, NOW)
    assert calendly(body, at=NOW - timedelta(seconds=179)).event
    for off in (timedelta(seconds=-181), timedelta(seconds=181)):
        with pytest.raises(StaleRequest):
            calendly(body, at=NOW + off)
    assert calendly(body, at=NOW - timedelta(minutes=9), tolerance=600).event


def test_calendly_reschedule_is_two_events_that_name_each_other():
    new = "https://api.calendly.com/scheduled_events/EV2/invitees/IN2"
    cancel = calendly(calendly_body("invitee.canceled", rescheduled=True, new_invitee=new)).event
    create = calendly(calendly_body("invitee.created", uri=new, old_invitee=INVITEE)).event
    assert (cancel.kind, cancel.rescheduling, cancel.uid) == ("cancelled", True, INVITEE)
    assert (create.kind, create.uid, create.previous_uid) == ("rescheduled", new, INVITEE)
    plain = calendly(calendly_body("invitee.canceled")).event
    assert (plain.kind, plain.rescheduling) == ("cancelled", False)


def test_calendly_no_show_in_both_payload_shapes():
    invitee = calendly(calendly_body("invitee_no_show.created", created_at=iso(NOW))).event
    assert (invitee.kind, invitee.uid, invitee.email) == ("no_show", INVITEE, "dana.runner@example.com")
    resource = json.dumps({"event": "invitee_no_show.deleted", "created_at": iso(NOW), "payload": {
        "uri": "https://api.calendly.com/invitee_no_shows/NS1", "invitee": INVITEE, "created_at": iso(NOW)}}).encode()
    undone = calendly(resource).event
    assert (undone.kind, undone.uid, undone.email) == ("no_show_undone", INVITEE, None)
    again = calendly(calendly_body("invitee_no_show.created", created_at=iso(NOW + timedelta(days=1)))).event
    assert again.event_id != invitee.event_id  # marked again later: a new event, not a replay


def test_very_long_ids_are_stored_as_their_hash():
    uri = "https://api.calendly.com/scheduled_events/EV1/invitees/" + "x" * 300
    event = calendly(calendly_body(uri=uri)).event
    assert event.event_id.startswith("sha256:") and len(event.event_id) == 71
    assert event.uid == uri
