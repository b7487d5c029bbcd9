"""One POST to an endpoint: the host resolved once and every address checked (no private,
loopback, link-local or multicast address unless allowed), the connection made to the address
checked (so a DNS answer cannot change between the check and the connect), a connect timeout, a
read timeout, a deadline for the whole exchange, and no redirect followed (``http.client`` never
follows one; the caller counts a 3xx as a failure)."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from coachapp.webhooks_out.signing import public_address

#: Most bytes of a response body read (kept for the log, truncated).
MAX_BODY = 2048


class Refused(Exception):
    """The URL may not be called (scheme, or an address not on the public internet)."""


class TransportError(Exception):
    """Connection refused or reset, DNS failure, timeout, TLS error: worth retrying."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    location: str | None = None


def _addresses(host: str, port: int, allow_private: bool) -> list[tuple]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransportError(f"DNS lookup of {host} failed: {exc}") from exc
    if not infos:
        raise TransportError(f"DNS lookup of {host} found no address")
    if not allow_private:
        bad = sorted({info[4][0] for info in infos if not public_address(info[4][0])})
        if bad:
            raise Refused(f"{host} resolves to a non-public address ({', '.join(bad)}); "
                          "set WEBHOOKS_ALLOW_PRIVATE=1 to allow it")
    return infos


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, infos: list[tuple], connect_timeout: float, read_timeout: float):
        super().__init__(host, port, timeout=connect_timeout)
        self._infos, self._read_timeout = infos, read_timeout

    def _open(self) -> socket.socket:
        last: OSError | None = None
        for family, kind, proto, _, address in self._infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self.timeout)
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            sock.settimeout(self._read_timeout)
            return sock
        raise last or OSError("no address to connect to")

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    def connect(self) -> None:
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self._open(), server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, connect_timeout: float, read_timeout: float,
         deadline: float, allow_private: bool) -> Answer:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http:// and https:// URLs are called")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = _addresses(parts.hostname, port, allow_private)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(parts.hostname, port, infos, connect_timeout, read_timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # a receiver that trickles bytes never trips the read timeout: cut it at the deadline
    watchdog = threading.Timer(deadline, _cut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
        response = connection.getresponse()
        text = response.read(MAX_BODY).decode("utf-8", "replace")
        return Answer(response.status, text, response.getheader("Location"))
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    finally:
        watchdog.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
