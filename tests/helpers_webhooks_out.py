"""A real HTTP receiver on loopback for the webhooks we send, and endpoint fixtures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """``http.server`` in a thread. ``script`` holds the answers to give, in order (a status, or
    ``(status, headers)``, or ``("sleep", seconds)`` to hang before answering 200); then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Any] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                step = outer.script.pop(0) if outer.script else 200
                headers: dict[str, str] = {}
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    step = 200
                elif isinstance(step, tuple):
                    step, headers = step
                self.send_response(step)
                for name, value in headers.items():
                    self.send_header(name, value)
                reply = b"ok" if step < 300 else b"nope"
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/coachapp"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.05)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from the Standard Webhooks spec (independent of the app's
    code): HMAC-SHA256 keyed with the base64-decoded part of ``whsec_…`` over
    ``"<webhook-id>.<webhook-timestamp>.<body>"``, base64, compared with each ``v1,`` signature."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    candidates = [part.split(",", 1)[1] for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, c) for c in candidates)


def make_endpoint(db, url: str, events: list[str], *, active: bool = True, description: str = ""):
    """An endpoint through the service (so this process's "no endpoints" memory is dropped)."""
    from sqlalchemy import select

    from coachapp.models import Coach, utcnow
    from coachapp.webhooks_out import endpoints
    from tests.helpers_strategy import make_coach

    owner = db.session.execute(select(Coach).where(Coach.is_owner.is_(True))).scalars().first() \
        or make_coach(db, is_owner=True, email=f"owner{time.monotonic_ns()}@motive.example", name="Brian Owner")
    endpoint = endpoints.create(url, events, description, owner, utcnow())
    if not active:
        endpoints.set_active(endpoint, False)
    db.session.commit()
    return endpoint
