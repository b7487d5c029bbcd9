"""Webhooks out with the real parts: the API request queues the deliveries and answers; a real
Celery worker process (filesystem broker + SQLite, or Redis + PostgreSQL) posts them, signed, to a
real HTTP server on loopback; published twice, each is still sent once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import WebhookDelivery
from coachapp.webhooks_out import queueing
from tests.helpers import CONTACT, DESK_ACHILLES
from tests.helpers_strategy import make_coach
from tests.helpers_webhooks_out import make_endpoint, receiver, verify  # noqa: F401 (receiver: a fixture)
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def _statuses() -> list[str]:
    db.session.expire_all()
    return [d.status for d in db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars()]


def test_the_worker_delivers_signed_events_once(stack, receiver):  # noqa: F811 (the fixture)
    stack.start_worker(extra_env={"WEBHOOKS_ALLOW_PRIVATE": "1"})
    with stack.app.app_context():
        make_coach(db)
        endpoint = make_endpoint(db, receiver.url, ["lead.created", "assessment.completed"])
        response = stack.app.test_client().post("/api/v1/assessments",
                                                 json={"answers": DESK_ACHILLES, "contact": CONTACT})
        assert response.status_code == 201
        got = receiver.wait_for(2)
        assert len(got) == 2, "".join(stack.logs[0][-30:])
        assert sorted(r.json["type"] for r in got) == ["assessment.completed", "lead.created"]
        assert all(verify(endpoint.secret, r.headers, r.body) for r in got)
        assert wait_until(lambda: _statuses() == ["sent", "sent"])
        queueing.publish([d for d in db.session.execute(select(WebhookDelivery.id)).scalars()])
        assert not wait_until(lambda: len(receiver.received) > 2, timeout=3)
