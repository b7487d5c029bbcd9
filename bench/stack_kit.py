"""The whole-stack bench's machinery (``bench/run.py``): the processes it starts and their CPU
time from ``/proc``, the SMTP sink, the scratch database, seeding, and waiting for the outbox."""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-Horse-42-battery"
OWNER_EMAIL = "owner@bench.example"


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# --- processes and their CPU ---------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU seconds, reaped children's CPU seconds) from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2:].split()
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / TICK, (int(rest[13]) + int(rest[14])) / TICK


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def tree_cpu(root: int) -> float:
    """CPU seconds of a process tree: the root with its reaped children (workers recycled by
    gunicorn's max_requests count there) plus every live descendant."""
    stats = {pid: s for pid in _pids() if (s := _stat(pid))}
    if root not in stats:
        return 0.0
    total = stats[root][1] + stats[root][2]
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, own, _) in stats.items():
            if ppid == parent:
                total += own
                todo.append(pid)
    return total


def descendants(root: int) -> list[int]:
    stats = {pid: s for pid in _pids() if (s := _stat(pid))}
    found, todo = [], [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _, _) in stats.items():
            if ppid == parent:
                found.append(pid)
                todo.append(pid)
    return found


def pg_backends(dbname: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to ``dbname`` (local server only)."""
    if not dbname:
        return {}
    found = {}
    for pid in _pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {dbname} " in title and (s := _stat(pid)):
            found[pid] = s[1]
    return found


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class Stack:
    """Everything started for the run, and how to reach it."""

    env: dict[str, str]
    db_url: str
    pg_dbname: str | None
    app_port: int
    bare_port: int
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    engine: Engine | None = None

    def start(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> None:
        logfile = open(Path(self.env["COACHAPP_INSTANCE"]) / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **(extra or {})},
                                            stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

    def cpu(self, *names: str) -> dict[str, Any]:
        """A CPU snapshot of the named trees and of the bench database's PostgreSQL backends."""
        return {"trees": {n: tree_cpu(self.procs[n].pid) for n in names}, "pg": pg_backends(self.pg_dbname)}

    @staticmethod
    def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        out = {n: after["trees"][n] - before["trees"][n] for n in before["trees"]}
        out["postgres"] = sum(v - before["pg"].get(pid, 0.0) for pid, v in after["pg"].items())
        return out


# --- SMTP sink ------------------------------------------------------------------------------------


class Sink:
    """Receives every email; remembers when each recipient's first message arrived."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        now = time.time()
        with self.lock:
            self.count += 1
            for rcpt in envelope.rcpt_tos:
                self.received.setdefault(rcpt.lower(), now)
        return "250 OK"


# --- setting up -------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"cpu": f"{os.cpu_count()} cores, {platform.machine()}, {model}", "memory": f"{int(mem) // 1024:,} MiB",
            "python": platform.python_version(), "kernel": platform.release()}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def create_scratch_database(server_url: str, jit: bool = True) -> tuple[str, str]:
    import psycopg

    url = make_url(server_url)
    name = f"coachapp_bench_{secrets.token_hex(4)}"
    admin = url.set(drivername="postgresql", database=url.database or "postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        if not jit:
            conn.execute(f'ALTER DATABASE "{name}" SET jit = off')
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_scratch_database(server_url: str, name: str) -> None:
    import psycopg

    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database=url.database or "postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_http(port: int, path: str = "/healthz", seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers on {HOST}:{port}{path}")


def seed_owner(engine: Engine) -> int:
    from coachapp.auth.passwords import hash_password
    from coachapp.models import Coach

    with Session(engine) as session:
        owner = Coach(name="Bench Owner", email=OWNER_EMAIL, is_owner=True, password_hash=hash_password(PASSWORD))
        session.add(owner)
        session.commit()
        return owner.id


def seed_leads(engine: Engine, target: int, owner_id: int) -> int:
    """Add seeded leads (set-based, 10,000 a statement) until the table holds ``target``; returns
    how many were added."""
    from coachapp.models import STAGES, Lead

    first = ["Dana", "Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan", "Taylor", "Jamie", "Avery", "Quinn", "Zoë"]
    tiers = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3", None]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        have = conn.execute(select(func.count()).select_from(Lead)).scalar_one()
        lo = conn.execute(select(func.count()).select_from(Lead).where(Lead.email.like("seed%"))).scalar_one()
        add = max(0, target - have)
        for base in range(lo, lo + add, 10_000):
            conn.execute(insert(Lead), [{
                "email": f"seed{i}@example.com", "email_display": f"Seed{i}@Example.com",
                "first_name": first[i % len(first)], "last_name": f"Runner{i % 1000}",
                "phone": f"+1512{(i * 7919) % 10_000_000:07d}", "stage": STAGES[(i * 7) % len(STAGES)],
                "tier": tiers[(i * 3) % len(tiers)], "source": ("google", "strava", "direct", "instagram")[i % 4],
                "needs_clinician": i % 40 == 0, "owner_id": owner_id if i % 2 else None,
                "created_at": start + timedelta(seconds=300 * i), "updated_at": start,
                "fit_score": i % 100, "urgency_score": (i * 13) % 100, "engagement_score": i % 37,
            } for i in range(base, min(lo + add, base + 10_000))])
    # What autovacuum does soon after a bulk load: statistics, and the visibility map that lets
    # an index-only scan skip the table (without it the nav's anti-joins visit every heap page).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE leads" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return add


def stored(engine: Engine, table: str, prefix: str) -> int:
    """Rows a run stored (its emails start with ``prefix``x): requests the server finished,
    including those the client had given up on."""
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE email LIKE :p"),
                            {"p": f"{prefix}x%"}).scalar_one()


def inbox_delays_ms(engine: Engine, sink: Sink, prefix: str) -> tuple[list[float], int]:
    """Each email to the run's addresses: stored in the outbox (its row's created_at, written in
    the submission's transaction) → received by the sink. Returns the delays and how many never came."""
    from coachapp.models import OutboxMessage

    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.to_address, OutboxMessage.created_at)
                            .where(func.lower(OutboxMessage.to_address).like(f"%{prefix}x%"))).all()
    delays, missing = [], 0
    for to, created in rows:
        address = re.search(r"[^<\s]+@[^>\s]+", to.lower()).group(0)
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        if address in sink.received:
            delays.append((sink.received[address] - created.timestamp()) * 1000)
        else:
            missing += 1
    return delays, missing


def emails_pending(engine: Engine) -> int:
    from coachapp.models import OutboxMessage, utcnow

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("queued", "sending")), OutboxMessage.next_attempt_at <= utcnow())).scalar_one()


def settle(stack: Stack, seconds: float = 90) -> float:
    """Wait until the outbox has sent every due email and the web answers at once; returns the wait."""
    start = time.time()
    while time.time() - start < seconds:
        if emails_pending(stack.engine) == 0:
            t = time.perf_counter()
            with contextlib.suppress(RuntimeError):
                wait_http(stack.app_port, seconds=5)
            if time.perf_counter() - t < 0.2:
                return time.time() - start
        time.sleep(0.25)
    log(f"warning: {emails_pending(stack.engine)} emails still pending after {seconds:.0f} s")
    return time.time() - start
