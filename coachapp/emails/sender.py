"""SMTP transport with a deadline, and replies classified by the stage they answer.

Who is at fault decides what happens next:

- a 4xx anywhere, a dropped connection or a timeout: ``TemporaryError`` (try again later);
- a 5xx to ``RCPT TO``: ``RecipientRejected`` — that address bounced;
- a 5xx at connect, HELO/EHLO, STARTTLS, AUTH, ``MAIL FROM`` or ``DATA`` (for every
  recipient at once): ``SenderRejected`` — our account, our setup or our message, not the
  recipient; their address must not be marked bounced.

The conversation has two clocks: ``timeout`` for each socket operation, and ``deadline`` for
the whole conversation. A server that trickles a byte at a time never trips the first; a
watchdog thread shuts the socket down when the second runs out, so a send never blocks a
worker longer than ``deadline`` (plus the connect timeout).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit


class TemporaryError(Exception):
    """Worth retrying later (4xx, connection problems, timeouts, the deadline)."""


class PermanentError(Exception):
    """Retrying the same message will not help (5xx)."""

    def __init__(self, detail: str, stage: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.stage = stage
        self.code = code


class RecipientRejected(PermanentError):
    """5xx to RCPT TO: the recipient's address bounced."""


class SenderRejected(PermanentError):
    """5xx before or after RCPT TO: the sending account, its setup or the message itself."""


class _Watchdog:
    """Shuts the client's socket down when the deadline passes; a blocked read then returns."""

    def __init__(self, deadline: float) -> None:
        self.client: smtplib.SMTP | None = None  # the connection in use (a reconnect replaces it)
        self.stage = "rset"  # where the conversation is: what a failure is classified by
        self.expired = False
        self._timer = threading.Timer(deadline, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self.client.sock if self.client is not None else None
        if sock is not None:
            try:  # the plain socket's shutdown, also under TLS: the reader gets EOF at once
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def watch(self, client: smtplib.SMTP) -> smtplib.SMTP:
        self.client = client
        if self.expired:  # it expired before this client existed: cut it at once
            self._expire()
        return client

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()


@dataclass
class _Idle:
    url: str
    client: smtplib.SMTP
    since: float  # time.monotonic() when its last email was accepted
    pid: int


#: One kept-open connection per sending thread (a Celery worker process sends from one thread).
_idle: dict[int, _Idle] = {}
_idle_lock = threading.Lock()


def _take(url: str, keepalive: float) -> smtplib.SMTP | None:
    """This thread's open connection to ``url``, if it was used less than ``keepalive`` s ago."""
    with _idle_lock:
        kept = _idle.pop(threading.get_ident(), None)
    if kept is None:
        return None
    if kept.pid != os.getpid():  # inherited through a fork: the parent's conversation, not ours
        return None
    if kept.url != url or time.monotonic() - kept.since > keepalive:
        _quit(kept.client)
        return None
    return kept.client


def _keep(url: str, client: smtplib.SMTP) -> None:
    with _idle_lock:
        _idle[threading.get_ident()] = _Idle(url, client, time.monotonic(), os.getpid())


def close_cached() -> None:
    """QUIT every kept-open connection of this process (a worker shutting down; tests)."""
    with _idle_lock:
        kept = list(_idle.values())
        _idle.clear()
    for entry in kept:
        if entry.pid == os.getpid():
            _quit(entry.client)


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except Exception:  # nosec B110  # already gone: closing is all that is left
        pass
    finally:
        client.close()


def send_smtp(smtp_url: str, mime: EmailMessage, timeout: float = 10.0, deadline: float = 30.0,
              keepalive: float = 0.0) -> None:
    """Send via ``smtp://user:pass@host:port?starttls=1`` or ``smtps://…``; returns once accepted.

    ``keepalive`` > 0: the connection stays open for the next email from this thread if that
    comes within ``keepalive`` seconds. A kept connection is checked with RSET first; if that
    fails it is dropped and a new one opened, and a kept connection that answers ``MAIL FROM``
    with 421 (closing, e.g. a per-connection message limit) is replaced once — both before the
    server could have accepted anything, so neither loses nor doubles an email. Any other error
    closes the connection (the next email opens a fresh one). ``deadline`` covers all of it.
    """
    url = urlsplit(smtp_url)
    per_operation = min(timeout, deadline)
    client = _take(smtp_url, keepalive) if keepalive > 0 else None
    with _Watchdog(deadline) as watchdog:
        try:
            if client is not None and not _usable(watchdog.watch(client), per_operation):
                client = None
            reused = client is not None
            if client is None:
                client = _open(url, per_operation, watchdog)
            watchdog.stage = "transfer"  # MAIL FROM, RCPT TO, DATA: refusals say which by their type
            try:
                client.send_message(mime)
            except smtplib.SMTPSenderRefused as exc:
                if not (reused and exc.smtp_code == 421) or watchdog.expired:
                    raise
                client.close()  # the server closed a kept connection before MAIL FROM: a fresh one
                client = _open(url, per_operation, watchdog)
                watchdog.stage = "transfer"
                client.send_message(mime)
            if watchdog.expired:  # a reply cut short by the watchdog can read like a 250
                raise TemporaryError("the deadline cut the server's last reply short")
        except Exception as exc:
            if client is not None:
                client.close()
            if watchdog.expired:
                raise TemporaryError(f"no answer within the {deadline:g} s deadline (at {watchdog.stage})") from exc
            _classify(exc, watchdog.stage)
            raise
    # the message is accepted: nothing after this point may turn it into a failure
    if keepalive > 0 and not watchdog.expired:
        _keep(smtp_url, client)
    else:
        _quit(client)


def _usable(client: smtplib.SMTP, per_operation: float) -> bool:
    """A kept connection answers RSET with 250 (else it is closed: the caller opens a new one)."""
    try:
        client.timeout = per_operation
        if client.sock is not None:
            client.sock.settimeout(per_operation)
        if client.rset()[0] == 250:
            return True
    except (smtplib.SMTPException, OSError):
        pass
    client.close()
    return False


def _open(url: SplitResult, per_operation: float, watchdog: _Watchdog) -> smtplib.SMTP:
    """Connect, EHLO, STARTTLS and AUTH as the URL asks (``watchdog.stage`` says how far it got)."""
    query = parse_qs(url.query)
    host = url.hostname or "localhost"
    secure = url.scheme == "smtps"
    port = url.port or (465 if secure else 25)
    client: smtplib.SMTP = watchdog.watch(
        smtplib.SMTP_SSL(timeout=per_operation, context=ssl.create_default_context())
        if secure else smtplib.SMTP(timeout=per_operation)
    )
    watchdog.stage = "connect"
    try:
        if watchdog.expired:  # the deadline passed while a kept connection was being checked
            raise TemporaryError("the deadline passed before connecting")
        # The name TLS checks the certificate against (SMTP_SSL's wrap and starttls() read it).
        # smtplib sets it only when the constructor connects, which would leave the watchdog no
        # socket to cut during the greeting; without it every TLS send raised ValueError.
        client._host = host
        code, greeting = client.connect(host, port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, greeting)
        watchdog.stage = "helo"
        client.ehlo_or_helo_if_needed()
        if not secure and query.get("starttls", ["0"])[0] in {"1", "true", "yes"}:
            watchdog.stage = "starttls"
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if url.username:
            watchdog.stage = "auth"
            client.login(unquote(url.username), unquote(url.password or ""))
    except Exception:
        client.close()
        raise
    return client


def _classify(exc: Exception, stage: str) -> None:
    """Raise the TemporaryError / RecipientRejected / SenderRejected this exception means."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
        if codes and all(500 <= code < 600 for code in codes):
            raise RecipientRejected(f"RCPT TO refused: {detail}", "rcpt", min(codes)) from exc
        raise TemporaryError(f"RCPT TO deferred: {detail}") from exc
    if isinstance(exc, smtplib.SMTPSenderRefused):
        stage = "mail"
    elif isinstance(exc, smtplib.SMTPDataError):
        stage = "data"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        stage = "auth"
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f"{exc.smtp_code} {_text(exc.smtp_error)} (at {stage})"
        if 500 <= exc.smtp_code < 600:
            raise SenderRejected(detail, stage, exc.smtp_code) from exc
        raise TemporaryError(detail) from exc
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # e.g. STARTTLS or AUTH asked of a server without it
        raise SenderRejected(f"{exc} (at {stage})", stage) from exc
    if isinstance(exc, ssl.SSLCertVerificationError):  # the host in SMTP_URL or the server's certificate
        # is wrong: retrying for hours would not mend it; failed now, and the owner is alerted
        raise SenderRejected(f"TLS certificate not accepted: {exc.verify_message} (at {stage})", stage) from exc
    if isinstance(exc, (TimeoutError, smtplib.SMTPException, OSError)):
        raise TemporaryError(f"{type(exc).__name__}: {exc} (at {stage})") from exc


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
