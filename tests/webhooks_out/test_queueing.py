"""Each business change queues exactly one delivery per subscribed active endpoint, in the same
transaction, and nothing for an endpoint not subscribed to that event or inactive (SQLite and
PostgreSQL). The request never waits on the receiver."""

from __future__ import annotations

import time

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.leads import triage
from coachapp.models import Lead, WebhookDelivery, utcnow
from coachapp.public.unsubscribe import unsubscribe_token
from coachapp.rules_store import get_rules
from tests.conftest import Browserish
from tests.helpers import CONTACT, DESK_ACHILLES, complete_assessment
from tests.helpers_strategy import STRATEGY_FORM, make_coach
from tests.helpers_webhooks import calcom_body, configure, post_calcom
from tests.helpers_webhooks_out import make_endpoint

ALL = ["lead.created", "assessment.completed", "session.requested", "session.booked",
       "lead.stage_changed", "lead.unsubscribed"]
URL = "https://hooks.example.com/coachapp"


def _rows(endpoint=None) -> list[tuple[str, int]]:
    db.session.expire_all()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint.id)
    return [(d.event_type, d.endpoint_id) for d in db.session.execute(query).scalars()]


def test_an_assessment_queues_created_and_completed_once_per_subscribed_endpoint(db_app):
    everything = make_endpoint(db, URL, ALL)
    completed_only = make_endpoint(db, URL + "/2", ["assessment.completed"])
    other = make_endpoint(db, URL + "/3", ["session.booked"])
    make_endpoint(db, URL + "/4", ALL, active=False)
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    assert sorted(_rows()) == sorted([("lead.created", everything.id), ("assessment.completed", everything.id),
                                      ("assessment.completed", completed_only.id)])
    assert _rows(other) == []
    row = db.session.execute(select(WebhookDelivery).where(WebhookDelivery.event_type == "assessment.completed",
                                                            WebhookDelivery.endpoint_id == everything.id)).scalar_one()
    assert row.status == "queued" and row.attempts == 0 and row.lead_id == lead.id
    assert row.purpose_key == f"assessment.completed:{lead.id}:submission-{row.payload['data']['submission_id']}:" \
                              f"{everything.id}"
    assert row.message_id.startswith("msg_")
    data = row.payload["data"]
    assert row.payload["type"] == "assessment.completed" and row.payload["timestamp"]
    assert set(data) == {"lead_id", "email", "first_name", "last_name", "stage", "tier", "top_priority",
                         "submission_id"}
    assert (data["email"], data["first_name"], data["top_priority"]) == ("dana@example.com", "Dana", lead.top_priority)
    assert "answers" not in str(row.payload) and "safety" not in str(row.payload)  # no health data
    # a second assessment by the same runner: a new completion, the same lead (not created again)
    complete_assessment(DESK_ACHILLES, "dana@example.com")
    assert [e for e, _ in _rows(everything)].count("lead.created") == 1
    assert [e for e, _ in _rows(everything)].count("assessment.completed") == 2


def test_the_same_event_twice_is_still_one_delivery(db_app):
    from coachapp.webhooks_out import queueing

    endpoint = make_endpoint(db, URL, ["lead.stage_changed"])
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    now = utcnow()
    happened = [("lead.stage_changed", "new-contacted@1", {})]
    assert len(queueing.queue(lead, happened, now)) == 1
    assert queueing.queue(lead, happened, now) == []  # ON CONFLICT DO NOTHING
    db.session.commit()
    assert _rows(endpoint) == [("lead.stage_changed", endpoint.id)]


def test_a_strategy_request_queues_session_requested(db_app):
    make_coach(db)
    endpoint = make_endpoint(db, URL, ["session.requested", "lead.created"])
    make_endpoint(db, URL + "/x", ["assessment.completed"])
    web = Browserish(db_app.test_client())
    web.get("/strategy-session")
    db_app.config["FORM_MIN_SECONDS"], before = 0, db_app.config["FORM_MIN_SECONDS"]
    try:
        assert web.post("/strategy-session", STRATEGY_FORM).status_code == 302
    finally:
        db_app.config["FORM_MIN_SECONDS"] = before
    assert sorted(_rows()) == sorted([("lead.created", endpoint.id), ("session.requested", endpoint.id)])
    row = db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.event_type == "session.requested")).scalar_one()
    assert row.payload["data"]["request_id"] and "goals" not in row.payload["data"]


def test_a_booking_webhook_queues_session_booked_and_stage_changed(db_app, monkeypatch):
    configure(db_app, monkeypatch)
    lead = complete_assessment(DESK_ACHILLES, "dana.runner@example.com")
    booked = make_endpoint(db, URL, ["session.booked"])
    stages = make_endpoint(db, URL + "/s", ["lead.stage_changed"])
    make_endpoint(db, URL + "/u", ["lead.unsubscribed"])
    client = db_app.test_client()
    body = calcom_body()
    assert post_calcom(client, body).status_code == 200
    assert post_calcom(client, body).status_code == 200  # the provider's retry: a duplicate
    assert sorted(_rows()) == sorted([("session.booked", booked.id), ("lead.stage_changed", stages.id)])
    row = db.session.execute(select(WebhookDelivery).where(WebhookDelivery.event_type == "session.booked")).scalar_one()
    assert row.payload["data"]["stage"] == "session_booked" and row.payload["data"]["lead_id"] == lead.id
    assert row.payload["data"]["stage_before"] == "new"


def test_a_stage_change_queues_one_stage_changed_and_a_same_stage_move_none(db_app):
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    endpoint = make_endpoint(db, URL, ["lead.stage_changed", "session.booked"])
    rules = get_rules()
    triage.change_stage(rules, lead, "contacted", utcnow(), by="Sam")
    db.session.commit()
    triage.change_stage(rules, lead, "contacted", utcnow(), by="Sam")  # no change: no event
    db.session.commit()
    assert _rows(endpoint) == [("lead.stage_changed", endpoint.id)]
    row = db.session.execute(select(WebhookDelivery)).scalar_one()
    assert (row.payload["data"]["stage_before"], row.payload["data"]["stage"]) == ("new", "contacted")
    triage.change_stage(rules, lead, "nurture", utcnow())
    db.session.commit()
    triage.change_stage(rules, lead, "contacted", utcnow())  # back again: a new change, a new delivery
    db.session.commit()
    assert len(_rows(endpoint)) == 3


def test_unsubscribe_queues_one_delivery_even_when_clicked_twice(db_app):
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    endpoint = make_endpoint(db, URL, ["lead.unsubscribed"])
    make_endpoint(db, URL + "/c", ["lead.created"])
    client = db_app.test_client()
    token = unsubscribe_token(lead.id)
    assert client.post(f"/unsubscribe/{token}", data={"scope": "all"}).status_code == 200
    assert client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _rows() == [("lead.unsubscribed", endpoint.id)]
    row = db.session.execute(select(WebhookDelivery)).scalar_one()
    assert row.payload["data"]["scope"] == "all"


def test_a_rolled_back_change_leaves_no_delivery(db_app):
    endpoint = make_endpoint(db, URL, ["lead.stage_changed"])
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    triage.change_stage(get_rules(), lead, "contacted", utcnow())
    db.session.rollback()
    assert _rows(endpoint) == [] and db.session.get(Lead, lead.id).stage == "new"


def test_the_request_never_waits_on_the_receiver(db_app, receiver, monkeypatch):
    monkeypatch.setitem(db_app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
    receiver.script = [("sleep", 5)]
    make_endpoint(db, receiver.url, ALL)
    make_coach(db)
    started = time.monotonic()
    response = db_app.test_client().post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": CONTACT})
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 4.5, elapsed  # the receiver would take 5 s: it was not called at all
    assert receiver.received == []
    statuses = {d.status for d in db.session.execute(select(WebhookDelivery)).scalars()}
    assert statuses == {"queued"}  # for the worker's task (tests/integration/test_webhooks_delivery.py)


def test_erasing_a_lead_deletes_its_deliveries(db_app):
    from coachapp.leads import actions

    make_endpoint(db, URL, ["assessment.completed"])
    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    owner = make_coach(db, is_owner=True, email="boss@motive.example")
    actions.erase(lead, owner, utcnow())
    db.session.commit()
    assert _rows() == []


def test_a_booking_from_someone_new_queues_lead_created_too(db_app, monkeypatch):
    configure(db_app, monkeypatch)
    make_coach(db)
    endpoint = make_endpoint(db, URL, ["lead.created", "session.booked"])
    assert post_calcom(db_app.test_client(), calcom_body(email="new.runner@example.com")).status_code == 200
    assert sorted(_rows()) == sorted([("lead.created", endpoint.id), ("session.booked", endpoint.id)])
    created = db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.event_type == "lead.created")).scalar_one()
    assert created.payload["data"]["email"] == "new.runner@example.com"
