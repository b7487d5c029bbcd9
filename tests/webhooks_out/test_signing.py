"""The pure part: Standard Webhooks signatures (the spec's reference test vector), secrets, the
retry schedule, answer classes, URL rules and which addresses are public."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from coachapp.webhooks_out import signing


def test_signature_matches_the_standard_webhooks_reference_vector():
    # the vector used by the standard-webhooks reference libraries' tests
    assert signing.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                        b'{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_whsec_and_32_random_bytes():
    one, two = signing.new_secret(), signing.new_secret()
    assert one.startswith("whsec_") and one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32
    assert signing.new_message_id().startswith("msg_")


def test_headers_and_body():
    body = signing.body({"type": "lead.created", "data": {"name": "Zoë"}})
    assert body == '{"data":{"name":"Zoë"},"type":"lead.created"}'.encode()
    headers = signing.headers(signing.new_secret(), "msg_1", 1700000000, body)
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,") and headers["Content-Type"] == "application/json"


def test_payload_shape_leaves_out_empty_sources():
    at = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)
    built = signing.payload("lead.created", at, {"lead_id": 1, "tier": None}, submission_id=None, scope="all")
    assert built == {"type": "lead.created", "timestamp": "2026-12-04T21:30:00+00:00",
                     "data": {"lead_id": 1, "tier": None, "scope": "all"}}
    assert set(signing.EVENT_TYPES) == {"lead.created", "assessment.completed", "session.requested",
                                        "session.booked", "lead.stage_changed", "lead.unsubscribed"}


def test_retry_schedule_then_give_up():
    assert [signing.retry_delay_minutes(n) for n in range(1, 7)] == [1, 5, 30, 120, 720, None]


@pytest.mark.parametrize(("status", "verdict"), [(200, "sent"), (204, "sent"), (301, "failed"), (302, "failed"),
                                                  (307, "failed"), (400, "failed"), (401, "failed"), (410, "failed"),
                                                  (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry")])
def test_classify(status, verdict):
    assert signing.classify(status) == verdict


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                                     "100.64.0.1", "fe80::1%eth0"])
def test_non_public_addresses(address):
    assert not signing.public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address):
    assert signing.public_address(address)


@pytest.mark.parametrize(("url", "problem"), [
    ("https://hooks.example.com/in?x=1", None), ("http://hooks.example.com:8080/", None),
    ("ftp://hooks.example.com/", "http://"), ("file:///etc/passwd", "http://"), ("https:///nohost", "http://"),
    ("https://u:p@hooks.example.com/", "credentials"), ("https://hooks.example.com:99999/", "valid URL"),
    ("https://hooks.example.com/a b", "valid URL"), ("https://x.example/" + "a" * 2000, "2000"),
])
def test_url_rules(url, problem):
    found = signing.url_problem(url)
    assert (found is None) if problem is None else (problem in found)
