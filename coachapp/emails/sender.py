"""Transports: real SMTP (``SMTP_URL``) or capture (kept in the outbox, readable in-app)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


class TemporaryError(Exception):
    """Worth retrying later (4xx, connection problems, timeouts)."""


class PermanentError(Exception):
    """Retrying will not help (5xx)."""


def send_smtp(smtp_url: str, mime: EmailMessage, timeout: float = 20.0) -> None:
    """Send via ``smtp://user:pass@host:port?starttls=1`` or ``smtps://…``."""
    url = urlsplit(smtp_url)
    query = parse_qs(url.query)
    host = url.hostname or "localhost"
    secure = url.scheme == "smtps"
    port = url.port or (465 if secure else 25)
    try:
        if secure:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if not secure and query.get("starttls", ["0"])[0] in {"1", "true", "yes"}:
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(mime)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        _raise_for_code(min(codes) if codes else 550, str(exc.recipients))
    except smtplib.SMTPResponseException as exc:
        _raise_for_code(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}")
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TemporaryError(f"{type(exc).__name__}: {exc}") from exc


def _raise_for_code(code: int, detail: str) -> None:
    if 500 <= code < 600:
        raise PermanentError(detail)
    raise TemporaryError(detail)
