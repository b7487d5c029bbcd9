"""A raw-socket SMTP server on loopback whose replies a test scripts, stage by stage.

Stages: ``greeting``, ``ehlo``, ``rset``, ``mail``, ``rcpt``, ``data`` (the DATA command) and
``end`` (the reply after the message body — the moment the server takes responsibility). A fault
is a reply (``"550 5.1.1 No such user"``), ``hang`` (say nothing until the client goes away),
``trickle`` (the normal reply, one byte at a time) or ``close`` (hang up without a word: a kept
connection the server dropped while it was idle). A message counts as delivered only when
the server has written its 250 after the body, to a client still connected: exactly what a
real server would have accepted. ``deliveries`` counts them per Message-ID.
"""

from __future__ import annotations

import email
import email.policy
import select
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

STAGES = ("greeting", "ehlo", "rset", "mail", "rcpt", "data", "end")


@dataclass
class Fault:
    stage: str
    action: str  # an SMTP reply, "hang", "trickle" or "close"
    times: int = 1
    rcpt: str | None = None  # only for this recipient (stage "rcpt")
    interval: float = 0.3  # seconds between bytes when trickling
    after: int = 0  # let this many occurrences of the stage pass first


@dataclass
class Sink:
    port: int = 0
    deliveries: Counter = field(default_factory=Counter)  # Message-ID → times accepted
    accepted: list = field(default_factory=list)  # (Message-ID, To, Subject) in order
    faults: list[Fault] = field(default_factory=list)
    injected: Counter = field(default_factory=Counter)  # (stage, action) → times used
    connections: int = 0  # TCP connections accepted (one per SMTP session)
    #: Called (with the parsed message) after the body arrived, before the 250 is written.
    before_accept: Callable | None = None
    hanging: threading.Event = field(default_factory=threading.Event)
    #: Called when a hang begins (the client is blocked reading our reply), e.g. to kill it then.
    on_hang: Callable | None = None
    accept_delay: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        sink = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sink._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def add(self, stage: str, action: str, times: int = 1, rcpt: str | None = None, interval: float = 0.3,
            after: int = 0) -> None:
        assert stage in STAGES, stage
        with self._lock:
            self.faults.append(Fault(stage, action, times, rcpt, interval, after))

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        """Forget faults, hooks and counts (a fresh server, same port)."""
        with self._lock:
            self.faults.clear()
            self.deliveries.clear()
            self.accepted.clear()
            self.injected.clear()
            self.connections = 0
            self.before_accept = None
            self.on_hang = None
            self.accept_delay = 0.0
            self.hanging.clear()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    # -- counting ---------------------------------------------------------------------------

    def total(self) -> int:
        with self._lock:
            return sum(self.deliveries.values())

    def duplicates(self) -> dict[str, int]:
        with self._lock:
            return {mid: n for mid, n in self.deliveries.items() if n > 1}

    # -- the conversation -------------------------------------------------------------------

    def _take(self, stage: str, rcpt: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.stage == stage and fault.times > 0 and (fault.rcpt is None or fault.rcpt == rcpt):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    self.injected[(stage, fault.action)] += 1
                    return fault
        return None

    def _reply(self, conn: socket.socket, stage: str, normal: str, rcpt: str | None = None) -> str | None:
        """Answer for this stage; the reply sent, or None when the conversation is over."""
        fault = self._take(stage, rcpt)
        if fault is None:
            return normal if self._send(conn, normal) else None
        if fault.action == "close":
            return None
        if fault.action == "hang":
            self.hanging.set()
            if self.on_hang is not None:
                self.on_hang()
            self._wait_for_close(conn)
            return None
        if fault.action == "trickle":
            for byte in (normal + "\r\n").encode():
                if self._stopping.is_set() or _closed(conn, fault.interval):
                    return None
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return None
            return normal
        return fault.action if self._send(conn, fault.action) else None

    @staticmethod
    def _send(conn: socket.socket, reply: str) -> bool:
        try:
            conn.sendall(reply.encode() + b"\r\n")
            return True
        except OSError:
            return False

    def _wait_for_close(self, conn: socket.socket) -> None:
        while not self._stopping.is_set() and not _closed(conn, 0.1):
            pass

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        stream = conn.makefile("rb")
        try:
            reply = self._reply(conn, "greeting", "220 sink.test ESMTP")
            if reply is None or not reply.startswith("2"):
                return
            while not self._stopping.is_set():
                line = stream.readline()
                if not line:
                    return
                verb = line[:4].decode("ascii", "replace").upper()
                arg = line[4:].strip().decode("utf-8", "replace")
                if verb == "EHLO":
                    done = self._reply(conn, "ehlo", "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8")
                elif verb == "HELO":
                    done = self._reply(conn, "ehlo", "250 sink.test")
                elif verb == "MAIL":
                    done = self._reply(conn, "mail", "250 2.1.0 OK")
                elif verb == "RCPT":
                    address = arg.split(":", 1)[-1].strip().strip("<>").split(">")[0]
                    done = self._reply(conn, "rcpt", "250 2.1.5 OK", rcpt=address)
                elif verb == "DATA":
                    done = self._reply(conn, "data", "354 End data with <CR><LF>.<CR><LF>")
                    if done and done.startswith("3"):
                        done = self._body(conn, stream)
                elif verb == "RSET":
                    done = self._reply(conn, "rset", "250 2.0.0 OK")
                elif verb == "QUIT":
                    self._send(conn, "221 Bye")
                    return
                else:
                    done = "250 OK" if self._send(conn, "250 OK") else None
                if done is None:
                    return
        except OSError:
            return
        finally:
            stream.close()
            conn.close()

    def _body(self, conn: socket.socket, stream) -> str | None:
        lines = []
        while True:
            line = stream.readline()
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        if self.accept_delay:
            time.sleep(self.accept_delay)
        if self.before_accept is not None:
            self.before_accept(message)
        reply = self._reply(conn, "end", "250 2.0.0 Accepted")
        if reply is not None and reply.startswith("250") and not _closed(conn, 0):
            with self._lock:
                self.deliveries[str(message["Message-ID"])] += 1
                self.accepted.append((str(message["Message-ID"]), str(message["To"]), str(message["Subject"])))
        return reply


def _closed(conn: socket.socket, wait: float) -> bool:
    """True when the peer has closed the connection (EOF or reset), waiting up to ``wait`` s."""
    try:
        readable, _, _ = select.select([conn], [], [], wait)
        if not readable:
            return False
        return conn.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
