"""One SMTP connection carries many emails (issue 12), and never at the price of an email lost
or sent twice: a connection the server dropped while idle is replaced, a 421 to MAIL FROM on a
kept connection is retried on a fresh one, an error closes the connection and classifies only
that email, the deadline still cuts a reused conversation. Real SMTP server (tests/faults/
smtp_sink.py, which counts connections), real database. (A worker SIGKILLed mid-batch over a
kept connection: tests/faults/test_worker_kill.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from coachapp.emails import outbox, sender
from coachapp.emails.delivery import SETUP_ALERT_KIND
from coachapp.extensions import db
from coachapp.models import Lead, OutboxMessage
from tests.faults.smtp_sink import Sink


@pytest.fixture
def sink(db_app, monkeypatch) -> Iterator[Sink]:
    """A scriptable SMTP server with short clocks; no connection kept from an earlier test."""
    server = Sink()
    monkeypatch.setitem(db_app.config, "SMTP_URL", server.url)
    monkeypatch.setitem(db_app.config, "SMTP_TIMEOUT", 1.0)
    monkeypatch.setitem(db_app.config, "OUTBOX_SEND_DEADLINE", 2.0)
    sender.close_cached()
    yield server
    sender.close_cached()
    server.stop()


def _queue(count: int) -> list[int]:
    """``count`` emails, each to its own lead (``r0@example.com`` …), committed."""
    ids = []
    for n in range(count):
        address = f"r{n}@example.com"
        lead = Lead(email=address, email_display=address, first_name=f"R{n}")
        db.session.add(lead)
        db.session.flush()
        ids.append(outbox.queue_email(
            purpose_key=f"reuse:{n}", kind="test", to=address, template="assessment_clinician", lead_id=lead.id,
            first_name=lead.first_name, result={"safety": {"fired": []}}, results_url="http://coach.test/r").id)
    outbox.commit()
    return ids


def _rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def _each_once(sink: Sink, rows: list[OutboxMessage]) -> bool:
    return all(sink.deliveries[row.message_id] == (1 if row.status == "sent" else 0) for row in rows)


def test_one_connection_carries_many_emails(db_app, sink):
    ids = _queue(6)
    assert [outbox.deliver(i) for i in ids] == ["sent"] * 6
    assert sink.connections == 1
    assert sink.total() == 6 and _each_once(sink, _rows())


def test_without_keepalive_each_email_has_its_own_connection(db_app, sink, monkeypatch):
    monkeypatch.setitem(db_app.config, "SMTP_KEEPALIVE", 0)
    ids = _queue(3)
    assert [outbox.deliver(i) for i in ids] == ["sent"] * 3
    assert sink.connections == 3


def test_a_connection_idle_longer_than_the_keepalive_is_not_reused(db_app, sink, monkeypatch):
    monkeypatch.setitem(db_app.config, "SMTP_KEEPALIVE", 0.2)
    first, second = _queue(2)
    assert outbox.deliver(first) == "sent"
    time.sleep(0.3)
    assert outbox.deliver(second) == "sent"
    assert sink.connections == 2 and sink.total() == 2


@pytest.mark.parametrize("drop", ["close", "421 4.4.2 Idle too long, closing", "hang"])
def test_a_connection_dropped_between_emails_is_replaced_without_loss_or_duplicate(db_app, sink, drop):
    """The server hung up on the idle connection (or answers RSET with 421, or not at all): the
    RSET check notices, a new connection sends the email, once, on its first attempt."""
    ids = _queue(3)
    assert outbox.deliver(ids[0]) == "sent"
    sink.add("rset", drop)
    started = time.monotonic()
    assert [outbox.deliver(i) for i in ids[1:]] == ["sent"] * 2
    assert time.monotonic() - started < 2.0 + 3.0  # within the 2 s deadline (+ a busy machine's slack)
    rows = _rows()
    assert [row.attempts for row in rows] == [1, 1, 1]
    assert sink.connections == 2 and sink.total() == 3 and _each_once(sink, rows)


def test_a_421_to_mail_from_on_a_kept_connection_is_sent_on_a_fresh_one(db_app, sink):
    """A server that limits emails per connection says 421 and closes: nothing was accepted, so
    the email goes out at once on a new connection (not a minute later, not twice)."""
    ids = _queue(3)
    assert outbox.deliver(ids[0]) == "sent"
    sink.add("mail", "421 4.7.0 Too many messages on this connection")
    assert [outbox.deliver(i) for i in ids[1:]] == ["sent"] * 2
    rows = _rows()
    assert [row.attempts for row in rows] == [1, 1, 1]
    assert sink.connections == 2 and sink.total() == 3 and _each_once(sink, rows)


def test_a_4xx_or_5xx_mid_sequence_classifies_only_that_email(db_app, sink):
    """Five emails over kept connections: a 5xx to RCPT TO for the third (bounced: that lead
    only), a 4xx to RCPT TO for the fourth (retried later, not bounced); the others are sent.
    An error closes the connection; the next email opens a new one."""
    sink.add("rcpt", "550 5.1.1 No such user", rcpt="r2@example.com")
    sink.add("rcpt", "452 4.2.2 Mailbox full", rcpt="r3@example.com")
    ids = _queue(5)
    assert [outbox.deliver(i) for i in ids] == ["sent", "sent", "failed", "queued", "sent"]
    rows = _rows()
    assert "550 5.1.1" in rows[2].last_error and "452 4.2.2" in rows[3].last_error
    bounced = db.session.execute(select(Lead.email).where(Lead.bounced_at.is_not(None))).scalars().all()
    assert bounced == ["r2@example.com"]
    assert sink.connections == 3  # the first two share one; each error closes its connection
    assert sink.total() == 3 and _each_once(sink, rows)


def test_the_deadline_still_cuts_a_reused_conversation(db_app, sink):
    """The body went out on a kept connection and the 250 never comes: a temporary failure
    within the deadline, and that connection is never used again."""
    ids = _queue(3)
    assert outbox.deliver(ids[0]) == "sent"
    sink.add("end", "hang")
    started = time.monotonic()
    assert outbox.deliver(ids[1]) == "queued"
    assert time.monotonic() - started < 2.0 + 3.0
    assert outbox.deliver(ids[2]) == "sent"
    rows = _rows()
    assert "timed out" in rows[1].last_error or "deadline" in rows[1].last_error
    assert sink.connections == 2 and sink.total() == 2 and _each_once(sink, rows)


def test_close_cached_says_quit(db_app, sink):
    assert outbox.deliver(_queue(1)[0]) == "sent"
    assert sender._idle  # kept open for the next email
    sender.close_cached()
    assert not sender._idle


def test_the_keepalive_setting():
    from coachapp.config import outbox_settings

    assert outbox_settings({})["SMTP_KEEPALIVE"] == 90
    assert outbox_settings({"SMTP_KEEPALIVE": "0"})["SMTP_KEEPALIVE"] == 0  # a new connection per email


class _TlsMailbox:
    """aiosmtpd handler: what arrived, over how many connections, and whether under TLS."""

    def __init__(self) -> None:
        self.connections = 0
        self.tls: list[bool] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd API)
        session.host_name = hostname
        if session.ssl is None:  # the EHLO that opens a connection, not the one repeated under TLS
            self.connections += 1
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        self.tls.append(session.ssl is not None)
        return "250 OK"


def test_starttls_checks_the_servers_name_and_the_connection_is_kept(db_app, tmp_path, monkeypatch):
    """``?starttls=1`` (the documented production setting): the server's certificate is checked
    against the host in SMTP_URL, and the upgraded connection carries the next emails too.
    (Before issue 12 every TLS send raised ValueError: smtplib had no host name to check.)"""
    import shutil
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller

    from tests.conftest import ON_CI, free_port

    if shutil.which("openssl") is None:
        if ON_CI:
            pytest.fail("openssl is not installed, and CI requires this test to run")
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate, and only it
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(cert), str(key))
    mailbox, port = _TlsMailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True)
    controller.start()
    sender.close_cached()
    try:
        monkeypatch.setitem(db_app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=1")
        ids = _queue(3)
        assert [outbox.deliver(i) for i in ids] == ["sent"] * 3
        assert mailbox.tls == [True] * 3 and mailbox.connections == 1
        # A certificate for another name is refused: never sent in clear, never "sent".
        sender.close_cached()
        monkeypatch.setitem(db_app.config, "SMTP_URL", f"smtp://localhost:{port}?starttls=1")
        row = outbox.queue_email(purpose_key="reuse:other-name", kind="test", to="x@example.com",
                                 template="assessment_clinician", first_name="X", result={"safety": {"fired": []}},
                                 results_url="http://coach.test/r")
        outbox.commit()
        assert outbox.deliver(row.id) == "failed"  # our setting, not a passing fault: no retries for hours
        assert len(mailbox.tls) == 3
        failed = db.session.get(OutboxMessage, row.id)
        assert "TLS certificate not accepted" in failed.last_error
        alerts = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == SETUP_ALERT_KIND)).scalars().all()
        assert len(alerts) == 1  # the owner hears of it
    finally:
        sender.close_cached()
        controller.stop()
