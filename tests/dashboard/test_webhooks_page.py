"""The owner's Webhooks pages: add an endpoint (validated), see its secret, pause, delete, the
delivery log with a payload view and replay; coaches get 403; every form needs its CSRF token."""

from __future__ import annotations

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import WebhookDelivery, WebhookEndpoint
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_webhooks_out import make_endpoint

ADD = {"url": "https://hooks.example.com/in", "description": "CRM", "events": ["lead.created", "lead.unsubscribed"]}


def test_owner_adds_an_endpoint_and_sees_its_secret(db_app):
    owner = coach_with_password(db, is_owner=True)
    web = sign_in(db_app, owner)
    page = web.get("/dashboard/webhooks").get_data(as_text=True)
    assert "Add an endpoint" in page and "lead.stage_changed" in page and 'href="/dashboard/webhooks"' in page
    response = web.post("/dashboard/webhooks", ADD)
    assert response.status_code == 302
    endpoint = db.session.execute(select(WebhookEndpoint)).scalar_one()
    assert (endpoint.url, endpoint.events, endpoint.created_by) == (ADD["url"], ADD["events"], owner.id)
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    shown = web.get(response.headers["Location"]).get_data(as_text=True)
    assert endpoint.secret in shown and "<details class=\"secret\" open>" in shown


def test_bad_urls_and_no_events_are_refused_next_to_the_field(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    web.get("/dashboard/webhooks")
    for url, message in [("ftp://x.example/in", "http:// or https://"), ("javascript:alert(1)", "http:// or https://"),
                         ("https://user:pw@x.example/", "credentials")]:
        response = web.post("/dashboard/webhooks", {**ADD, "url": url})
        assert response.status_code == 422 and message in response.get_data(as_text=True), url
    response = web.post("/dashboard/webhooks", {**ADD, "events": []})
    assert response.status_code == 422 and "at least one event" in response.get_data(as_text=True)
    response = web.post("/dashboard/webhooks", {**ADD, "events": ["lead.deleted"]})
    assert response.status_code == 422
    assert db.session.execute(select(WebhookEndpoint)).first() is None


def test_delivery_log_detail_and_replay(db_app):
    owner = coach_with_password(db, is_owner=True)
    endpoint = make_endpoint(db, "https://hooks.example.com/in", ["assessment.completed"])
    complete_assessment(DESK_ACHILLES, "dana@example.com")
    row = db.session.execute(select(WebhookDelivery)).scalar_one()
    row.status, row.attempts, row.last_status_code, row.last_error = "failed", 1, 410, "Gone"
    db.session.commit()
    web = sign_in(db_app, owner)
    log = web.get(f"/dashboard/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "assessment.completed" in log and "HTTP 410" in log and "Replay" in log
    detail = web.get(f"/dashboard/webhooks/deliveries/{row.id}").get_data(as_text=True)
    assert "&#34;submission_id&#34;" in detail and "dana@example.com" in detail and row.message_id in detail
    response = web.post(f"/dashboard/webhooks/deliveries/{row.id}/replay")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, row.id).status == "queued"
    again = web.post(f"/dashboard/webhooks/deliveries/{row.id}/replay", follow_redirects=True)
    assert "Only a sent or failed delivery" in again.get_data(as_text=True)


def test_pause_and_delete(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    endpoint = make_endpoint(db, "https://hooks.example.com/in", ["lead.created"])
    web.get(f"/dashboard/webhooks/{endpoint.id}")
    web.post(f"/dashboard/webhooks/{endpoint.id}/active", {"active": "0"})
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).active is False
    complete_assessment(DESK_ACHILLES, "dana@example.com")
    assert db.session.execute(select(WebhookDelivery)).first() is None  # paused: nothing queued
    web.post(f"/dashboard/webhooks/{endpoint.id}/delete")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id) is None


def test_coaches_get_403_and_forms_need_csrf(db_app):
    owner = coach_with_password(db, is_owner=True, email="brian@motive.example")
    endpoint = make_endpoint(db, "https://hooks.example.com/in", ["lead.created"])
    sam = sign_in(db_app, coach_with_password(db))
    for url in ("/dashboard/webhooks", f"/dashboard/webhooks/{endpoint.id}"):
        assert sam.get(url).status_code == 403
    assert 'href="/dashboard/webhooks"' not in sam.get("/dashboard/").get_data(as_text=True)
    assert sam.post(f"/dashboard/webhooks/{endpoint.id}/delete").status_code == 403  # with a valid token
    web = sign_in(db_app, owner)
    no_token = web.client.post(f"/dashboard/webhooks/{endpoint.id}/delete")
    assert no_token.status_code == 400
    no_token = web.client.post("/dashboard/webhooks", data=ADD)
    assert no_token.status_code in (400, 422)
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None
