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

import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


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

    def __init__(self, client: smtplib.SMTP, deadline: float) -> None:
        self.client = client
        self.expired = False
        self._timer = threading.Timer(deadline, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self.client.sock
        if sock is not None:
            try:  # the plain socket's shutdown, also under TLS: the reader gets EOF at once
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()


def send_smtp(smtp_url: str, mime: EmailMessage, timeout: float = 10.0, deadline: float = 30.0) -> None:
    """Send via ``smtp://user:pass@host:port?starttls=1`` or ``smtps://…``; returns once accepted."""
    url = urlsplit(smtp_url)
    query = parse_qs(url.query)
    host = url.hostname or "localhost"
    secure = url.scheme == "smtps"
    port = url.port or (465 if secure else 25)
    per_operation = min(timeout, deadline)
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(timeout=per_operation, context=ssl.create_default_context())
        if secure else smtplib.SMTP(timeout=per_operation)
    )
    stage = "connect"
    with _Watchdog(client, deadline) as watchdog:
        try:
            code, greeting = client.connect(host, port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, greeting)
            stage = "helo"
            client.ehlo_or_helo_if_needed()
            if not secure and query.get("starttls", ["0"])[0] in {"1", "true", "yes"}:
                stage = "starttls"
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if url.username:
                stage = "auth"
                client.login(unquote(url.username), unquote(url.password or ""))
            stage = "transfer"  # MAIL FROM, RCPT TO, DATA: refusals say which by their type
            client.send_message(mime)
            if watchdog.expired:  # a reply cut short by the watchdog can read like a 250
                raise TemporaryError("the deadline cut the server's last reply short")
        except Exception as exc:
            client.close()
            if watchdog.expired:
                raise TemporaryError(f"no answer within the {deadline:g} s deadline (at {stage})") from exc
            _classify(exc, stage)
            raise
    try:  # the message is accepted: nothing after this point may turn it into a failure
        client.quit()
    except Exception:  # nosec B110  # a failed QUIT does not un-send the message
        pass
    finally:
        client.close()


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
    if isinstance(exc, (TimeoutError, smtplib.SMTPException, OSError)):
        raise TemporaryError(f"{type(exc).__name__}: {exc} (at {stage})") from exc


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
