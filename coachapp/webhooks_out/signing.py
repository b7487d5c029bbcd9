"""Pure: the event types, the payload, Standard Webhooks signatures, the retry schedule and
which addresses an outgoing request may reach. No Flask, database or clock inside.

Signatures follow Standard Webhooks (standardwebhooks.com): the secret is ``whsec_`` + the
base64 of a random key; each attempt carries ``webhook-id`` (the same for every attempt of one
delivery, so a receiver can de-duplicate), ``webhook-timestamp`` (unix seconds of this attempt)
and ``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from datetime import datetime
from typing import Any

#: Every event an endpoint can subscribe to, with what it means (shown on the dashboard).
EVENT_TYPES = {
    "lead.created": "A new lead (from an assessment, a strategy-session request or a booking)",
    "assessment.completed": "A Runner Assessment was completed",
    "session.requested": "A free strategy session was requested",
    "session.booked": "The lead moved to session booked (a booking webhook or a coach)",
    "lead.stage_changed": "The lead moved along the pipeline",
    "lead.unsubscribed": "The lead unsubscribed from emails",
}

#: Minutes to wait after the 1st, 2nd, … failed attempt; one more failure after the last is final.
BACKOFF_MINUTES = (1, 5, 30, 120, 720)
#: 4xx answers worth retrying: the receiver timed out reading, or asks us to slow down.
RETRYABLE_4XX = (408, 429)
SECRET_PREFIX = "whsec_"  # nosec B105  # the Standard Webhooks prefix of a secret, not a secret


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "coachapp-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys in a stable order."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def payload(event_type: str, at: datetime, lead: dict[str, Any], **source: Any) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}`` (the Standard Webhooks shape). ``data`` is the lead's
    contact and pipeline facts plus what caused the event (``submission_id``, ``request_id``,
    ``stage_before``, ``scope``…). No answers: those are health data, shared with consent to us,
    not to whoever runs the endpoint."""
    return {"type": event_type, "timestamp": at.isoformat(timespec="seconds"),
            "data": {**lead, **{k: v for k, v in source.items() if v is not None}}}


def retry_delay_minutes(failures: int) -> int | None:
    """Minutes before the next attempt after ``failures`` failed ones; None: give up."""
    return BACKOFF_MINUTES[failures - 1] if 0 < failures <= len(BACKOFF_MINUTES) else None


def classify(status: int) -> str:
    """``sent`` (2xx), ``retry`` (5xx, 408, 429) or ``failed`` (3xx: no redirect is followed; 4xx)."""
    if 200 <= status < 300:
        return "sent"
    if status >= 500 or status in RETRYABLE_4XX:
        return "retry"
    return "failed"


def public_address(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local,
    multicast, reserved or unspecified; IPv4-mapped IPv6 is judged as the IPv4 inside)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


def url_problem(url: str) -> str | None:
    """Why an endpoint URL is refused (None: fine): http(s) only, a host, no credentials."""
    from urllib.parse import urlsplit

    if len(url) > 2000:
        return "Use a URL under 2000 characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter an http:// or https:// URL."
    if parts.username or parts.password:
        return "Leave credentials out of the URL (the signature authenticates each request)."
    if port == 0 or any(c.isspace() for c in url):
        return "Enter a valid URL."
    return None
