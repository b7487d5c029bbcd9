"""What one email costs the worker: CPU per email of ``outbox.send``, end to end.

    .venv/bin/python bench/bench_worker.py [--emails 500] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Builds a scratch PostgreSQL database on the given server (created with the real migrations,
dropped at the end), starts an SMTP sink (aiosmtpd on loopback, in its own process, so its CPU
is not counted as the worker's), queues ``--emails`` real emails through the normal queue path
(``outbox.queue_email``: a lead each, the clinician-first template rendered, one commit), then
delivers them by calling the Celery task ``outbox.send`` in this process, one after the other,
as a solo worker would (an app context per task, the claim, the lease, the SMTP conversation,
recording "sent" with its timeline event).

Printed per mode: CPU ms per email of this process (``time.process_time``), CPU ms per email of
the PostgreSQL backends serving it (utime + stime from ``/proc/<pid>/stat`` of every backend
connected to the scratch database; 10 ms ticks, so meaningful over hundreds of emails), wall ms
per email, the SMTP connections the sink saw, and SQL statements and commits per email (counted
by SQLAlchemy engine events: exact, whatever the machine's load; the pool's pre-ping is not a
statement). Modes, measured in the same run on fresh rows:

- ``new connection per email`` (``SMTP_KEEPALIVE=0``): the baseline, one SMTP conversation
  (connect, EHLO, MAIL/RCPT/DATA, QUIT) per email, as before issue 12;
- ``reused connection`` (the default ``SMTP_KEEPALIVE``): one connection per worker process,
  checked with RSET before each email.

``--starttls``: the sink offers STARTTLS and the worker uses it (``SMTP_URL=…?starttls=1``), as
with a real provider: a new connection then costs a TLS handshake too. The modes take turns
(``--rounds``) so that a neighbour's load hits both alike; the medians of the rounds are printed,
and the ratio baseline / reused last. ``--profile`` prints the top of a CPU profile of the reused
mode. Figures and how they were taken: docs/benchmarks.md, "Worker: cost per email".
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COACHAPP_INSTANCE", tempfile.mkdtemp(prefix="bench-worker-"))

#: Emails sent (and not counted) before each measured mode: compiled statements, pools, imports.
WARM_UP = 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BATCHES = itertools.count(1)  # numbers each mode's rows (their purpose keys and addresses)

SINK = """
import ssl
import sys
from aiosmtpd.controller import Controller

class Sink:
    connections = messages = 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if session.ssl is None:  # the EHLO that opens a connection, not the one repeated under TLS
            Sink.connections += 1
        return responses
    async def handle_DATA(self, server, session, envelope):
        Sink.messages += 1
        return "250 OK"

tls = None
if len(sys.argv) > 2:  # STARTTLS with this certificate and key
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(sys.argv[2], sys.argv[3])
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]), tls_context=tls)
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    print(Sink.connections, Sink.messages, flush=True)
controller.stop()
"""


class SmtpSink:
    """aiosmtpd in a child process; ``counts()`` → (connections, messages) so far."""

    def __init__(self, starttls: bool = False) -> None:
        from tests.conftest import free_port

        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}" + ("?starttls=1" if starttls else "")
        tls = self._certificate() if starttls else []
        self.proc = subprocess.Popen([sys.executable, "-c", SINK, str(self.port), *tls], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    @staticmethod
    def _certificate() -> list[str]:
        """A self-signed certificate for 127.0.0.1, trusted by this process (``SSL_CERT_FILE``)."""
        folder = Path(tempfile.mkdtemp(prefix="bench-worker-tls-"))
        cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        os.environ["SSL_CERT_FILE"] = cert  # ssl.create_default_context() reads it when it loads the defaults
        return [cert, key]

    def counts(self) -> tuple[int, int]:
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        connections, messages = self.proc.stdout.readline().split()
        return int(connections), int(messages)

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


def scratch_database(base_url: str) -> tuple[str, str]:
    import psycopg

    name = f"bench_worker_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BackendCpu:
    """CPU seconds used by the PostgreSQL backends connected to one database (read from /proc)."""

    def __init__(self, base_url: str, name: str) -> None:
        import psycopg

        self.conn = psycopg.connect(base_url, autocommit=True)
        self.name = name
        self.seen: dict[int, float] = {}

    def _pids(self) -> list[int]:
        return [row[0] for row in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", (self.name,))]

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None  # not on this host, or gone
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime

    def sample(self) -> float | None:
        """Total CPU seconds of the backends seen so far (a backend that is gone keeps its last value)."""
        for pid in self._pids():
            cpu = self._cpu(pid)
            if cpu is not None:
                self.seen[pid] = cpu
        return sum(self.seen.values()) if self.seen else None


@dataclass
class Result:
    mode: str
    emails: int
    cpu_ms: float
    db_cpu_ms: float | None
    wall_ms: float
    connections: int
    statements: float  # SQL statements per email (the lease's renewals included; pings excluded)
    commits: float  # per email


def build(url: str, smtp_url: str):
    from flask_migrate import upgrade

    from coachapp import create_app
    from coachapp.config import celery_settings, database_url, outbox_settings

    instance = Path(os.environ["COACHAPP_INSTANCE"])
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url(url, instance), "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
        "SMTP_URL": smtp_url, "BASE_URL": "http://coach.test",
        **outbox_settings({}),
        "CELERY": celery_settings({"CELERY_BROKER_DIR": str(instance / "broker")}, instance),
    })
    with app.app_context():
        upgrade()
    return app


def queue(app, count: int, prefix: str) -> list[int]:
    """``count`` real emails through the normal queue path, one lead each, committed once."""
    from coachapp.emails import outbox
    from coachapp.extensions import db
    from coachapp.models import Lead

    with app.app_context():
        ids = []
        for n in range(count):
            address = f"{prefix}{n}@example.com"
            lead = Lead(email=address, email_display=address, first_name=f"Runner{n}")
            db.session.add(lead)
            db.session.flush()
            message = outbox.queue_email(
                purpose_key=f"{prefix}:{n}", kind="assessment_result", to=address, template="assessment_clinician",
                lead_id=lead.id, first_name=lead.first_name, fresh=True,
                result={"safety": {"fired": [{"level": "red", "reason": "Chest pain on exertion."}]}},
                results_url=f"http://coach.test/assessment/{uuid.uuid4().hex}/results")
            ids.append(message.id)
        db.session.commit()  # not published: this process delivers them itself
        db.session.remove()
        return ids


def run_mode(app, sink: SmtpSink, backends: BackendCpu, mode: str, emails: int, profile: bool = False) -> Result:
    from sqlalchemy import event

    from coachapp.emails import sender
    from coachapp.extensions import db
    from coachapp.tasks.emails import send_outbox_message

    close = getattr(sender, "close_cached", lambda: None)  # before issue 12 there was nothing to close
    close()
    prefix = f"{mode.split()[0]}-{next(BATCHES)}"
    warm, ids = queue(app, WARM_UP, prefix + "-warm"), queue(app, emails, prefix)
    for message_id in warm:
        assert send_outbox_message(message_id) == "sent"
    connections_before, _ = sink.counts()
    db_before = backends.sample()
    counted = {"statements": 0, "commits": 0}

    def statement(*_: object) -> None:
        counted["statements"] += 1

    def commit(*_: object) -> None:
        counted["commits"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    statuses = [send_outbox_message(message_id) for message_id in ids]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    db_after = backends.sample()
    connections_after, _ = sink.counts()
    close()
    assert statuses == ["sent"] * emails, {s: statuses.count(s) for s in set(statuses)}
    db_cpu = None if db_before is None or db_after is None else (db_after - db_before) * 1000 / emails
    return Result(mode, emails, cpu * 1000 / emails, db_cpu, wall * 1000 / emails,
                  connections_after - connections_before, counted["statements"] / emails, counted["commits"] / emails)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=500, help="emails per mode")
    parser.add_argument("--rounds", type=int, default=5,
                        help="the modes take turns this many times (emails / rounds each); medians are printed")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a server and a database to connect to while creating the scratch one")
    parser.add_argument("--profile", action="store_true", help="cProfile the reused-connection mode (1st round)")
    parser.add_argument("--starttls", action="store_true",
                        help="the sink offers STARTTLS (a self-signed certificate made with openssl) and the "
                             "worker uses it, as with a real provider")
    args = parser.parse_args()

    from tests.conftest import dispose

    modes = (("new connection per email", 0.0), ("reused connection", None))
    per_round = max(1, args.emails // args.rounds)
    sink = SmtpSink(starttls=args.starttls)
    name, url = scratch_database(args.postgres)
    backends = BackendCpu(args.postgres, name)
    runs: dict[str, list[Result]] = {mode: [] for mode, _ in modes}
    try:
        app = build(url, sink.url)
        default_keepalive = app.config.get("SMTP_KEEPALIVE")
        for n in range(args.rounds):
            for mode, keepalive in modes:
                app.config["SMTP_KEEPALIVE"] = default_keepalive if keepalive is None else keepalive
                runs[mode].append(run_mode(app, sink, backends, mode, per_round,
                                           profile=args.profile and n == 0 and keepalive is None))
        dispose(app)
        _, messages = sink.counts()
    finally:
        backends.conn.close()
        drop_database(args.postgres, name)
        sink.stop()
    print(f"\n{args.rounds} rounds x {per_round} emails per mode (+{WARM_UP} warm-up each), PostgreSQL, "
          f"SMTP sink on loopback{' with STARTTLS' if args.starttls else ''}, {messages} accepted in all; "
          "medians of the rounds")
    print(f"{'mode':<28}{'worker CPU ms/email':>21}{'PostgreSQL CPU ms/email':>25}{'wall ms/email':>15}"
          f"{'SMTP connections':>18}{'statements/email':>18}{'commits/email':>15}")
    results = [median(rs) for rs in runs.values()]
    for r in results:
        db_cpu = "n/a" if r.db_cpu_ms is None else f"{r.db_cpu_ms:.2f}"
        print(f"{r.mode:<28}{r.cpu_ms:>21.2f}{db_cpu:>25}{r.wall_ms:>15.2f}{r.connections:>18}"
              f"{r.statements:>18.2f}{r.commits:>15.2f}")
    base, new = results
    ratio = (f"ratio (baseline / reused): worker CPU {base.cpu_ms / new.cpu_ms:.1f}x, "
             f"wall {base.wall_ms / new.wall_ms:.1f}x")
    if base.db_cpu_ms is not None and new.db_cpu_ms:
        ratio += f", PostgreSQL CPU {base.db_cpu_ms / new.db_cpu_ms:.1f}x"
    print(ratio)


def median(results: list[Result]) -> Result:
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    db = [r.db_cpu_ms for r in results if r.db_cpu_ms is not None]
    return Result(results[0].mode, sum(r.emails for r in results), mid([r.cpu_ms for r in results]),
                  mid(db) if db else None, mid([r.wall_ms for r in results]), sum(r.connections for r in results),
                  mid([r.statements for r in results]), mid([r.commits for r in results]))


if __name__ == "__main__":
    main()
