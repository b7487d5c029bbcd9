"""Measure the whole stack in one command: ``python3 bench/run.py`` (``--quick``: about a minute or two).

Starts on loopback, from this checkout: gunicorn as configured for production
(``coachapp/gunicorn_conf.py``, ``COACHAPP_ENV=production``), a Celery worker (as in the Procfile)
and beat, an SMTP sink (aiosmtpd, in this process) that records each delivery, and the bare
baseline (``bench/bare_app.py``: validate + one INSERT) under the same gunicorn settings against
the same database. PostgreSQL and Redis are used when ``DATABASE_URL`` / ``REDIS_URL`` are given
(a throwaway database is created on the given server and dropped at the end; the Redis database
is used as given), the embedded default otherwise (SQLite and the filesystem broker in a
temporary instance folder).

At each lead count (0, 10,000, 100,000; ``--quick``: 0 and 10,000), seeded with set-based
inserts, each measurement runs right after the same measurement of the bare baseline:

- saturation: ``wrk`` (Lua script, a unique email per request) with ``--connections``, or a
  closed-loop asyncio client when wrk is not installed (``apt-get install wrk``);
- open loop: a fixed arrival rate (``--rate``, 100/s), latency measured from each request's
  *intended* send time, so a stalled server is not hidden (no coordinated omission);
- CPU per request: the CPU time (``/proc``) of the gunicorn tree, the Celery worker tree and the
  PostgreSQL backends of the bench database over the open-loop run and the delivery of its
  emails, divided by the submissions;
- time to inbox: the API submission sent → its email received by the sink (p95).

For the assessment API (``POST /api/v1/assessments``) and the strategy-session form (CSRF token,
cookie and time-trap stamp taken from one GET, as a browser would). At the largest lead count,
signed in as the owner: the leads list, two searches, and the streamed CSV (rows/s, peak RSS
growth of the gunicorn workers), each against the bare app's primary-key GET or raw-cursor CSV.

Rate limits are switched off (``RATELIMIT_ENABLED=0``), as the load comes from one address; every
submission uses its own email address, so the per-recipient cap never applies.

Prints each target with its baseline and ratio and writes the "Whole stack" section of
``docs/benchmarks.md`` (``--no-doc`` to skip).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _in_project_venv() -> None:
    """``python3 bench/run.py`` from a checkout: re-run under its .venv (which ``python3 wsgi.py``
    creates and installs the first time)."""
    venv = Path(os.environ.get("COACHAPP_VENV") or ROOT / ".venv")
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    python = venv / "bin" / "python"
    if not python.exists():
        sys.exit(f"No virtual environment in {venv}: run `python3 wsgi.py test -x -q` once to create it.")
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    _in_project_venv()

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

HOST = "127.0.0.1"
PASSWORD = "bench-Horse-42-battery"
OWNER_EMAIL = "owner@bench.example"
TICK = os.sysconf("SC_CLK_TCK")
DOC = ROOT / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- bench/run.py: start -->", "<!-- bench/run.py: end -->"

ANSWERS: dict[str, Any] = {  # tests/helpers.py DESK_ACHILLES: a desk worker with an Achilles history
    "age_band": "30-39", "sex": "female", "desk_hours": ">10", "strength_sessions_per_week": "0",
    "sf_screen": ["none"], "sf_periods": "no", "years_running": "2-5", "restarting_after_break": False,
    "runs_per_week": "3", "long_run_day": "sat", "weekly_km": 30, "weekly_change": "about_same",
    "longest_run_30d_km": 15, "planned_longest_next_14d_km": 16, "terrain": ["road"], "goal_event": "half",
    "race_date": (date.today() + timedelta(weeks=10)).isoformat(), "injury_history": "recent_stopped",
    "injury_areas": ["achilles_calf"], "current_pain_nrs": 0, "feels_tight": ["calves"], "hm_5pq": [],
    "ktw_left_cm": 8, "ktw_right_cm": 8,
}
STRATEGY_FORM: dict[str, Any] = {  # tests/helpers_strategy.py STRATEGY_FORM
    "first_name": "Dana", "phone": "(512) 555-0143",
    "goals": "Run the Austin Marathon without my knee giving out at mile 18.",
    "dealing_with": ["pain", "structure"], "services": ["mobility_coaching"], "delivery": "in_person",
    "start_timing": "asap", "preferred_contact": "phone", "time_zone": "America/Chicago", "consent": "y",
}
PLACEHOLDER = "ZZNZZ"  # replaced by a unique id per request (wrk's Lua script and the Python clients)


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


# --- HTTP clients ---------------------------------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


async def fetch(port: int, req: Req, timeout: float) -> int:
    """One request on its own connection (gunicorn's sync workers close after each response)."""
    async def go() -> int:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close",
                    f"Content-Length: {len(req.body)}"] + [f"{k}: {v}" for k, v in req.headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + req.body)
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()  # to the end: the server closes
            return int(status_line.split()[1])
        finally:
            writer.close()
    return await asyncio.wait_for(go(), timeout)


@dataclass
class OpenLoopResult:
    latencies_ms: list[float]
    errors: int
    sent: dict[int, float]  # request number → wall time it was sent (for time to inbox)
    ok: int
    achieved_rate: float


def open_loop(port: int, make: Callable[[int], Req], rate: float, seconds: float, timeout: float = 10.0,
              ok_status: tuple[int, ...] = (200, 201, 302)) -> OpenLoopResult:
    """Requests at fixed intended times (i / rate); latency = response end − intended time."""
    async def main() -> OpenLoopResult:
        loop = asyncio.get_running_loop()
        n = max(1, int(rate * seconds))
        t0 = loop.time() + 0.05
        latencies, sent, errors, ok = [], {}, 0, 0

        async def one(i: int, due: float) -> None:
            nonlocal errors, ok
            sent[i] = time.time()
            try:
                status = await fetch(port, make(i), timeout)
            except (OSError, TimeoutError, ValueError, IndexError):
                status = 0
            latencies.append((loop.time() - due) * 1000)
            if status in ok_status:
                ok += 1
            else:
                errors += 1

        tasks = []
        for i in range(n):
            due = t0 + i / rate
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        issued = loop.time() - t0
        await asyncio.gather(*tasks)
        return OpenLoopResult(latencies, errors, sent, ok, n / max(issued, 1e-9))
    return asyncio.run(main())


def closed_loop(port: int, make: Callable[[int], Req], connections: int, seconds: float,
                ok_status: tuple[int, ...] = (200, 201, 302)) -> dict[str, float]:
    """The fallback saturation client (wrk is far cheaper; this one shares the CPU with the server)."""
    async def main() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        counter, done, errors = 0, 0, 0

        async def worker() -> None:
            nonlocal counter, done, errors
            while loop.time() < end:
                counter += 1
                try:
                    status = await fetch(port, make(counter), 30)
                except (OSError, TimeoutError, ValueError, IndexError):
                    status = 0
                done += 1
                errors += status not in ok_status
        start = loop.time()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return {"rps": done / (loop.time() - start), "requests": done, "errors": errors, "tool": "python"}
    return asyncio.run(main())


WRK_SCRIPT = """
local counter = 0
local tag = "w"
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
function init(args)
  tag = args[1] .. "t" .. tostring(tid)
end
function request()
  counter = counter + 1
  local body = (BODY:gsub("%(placeholder)s", tag .. "x" .. counter))
  return wrk.format(%(method)s, %(path)s, HEADERS, body)
end
"""


def wrk(port: int, req: Req, tag: str, connections: int, seconds: float) -> dict[str, float]:
    """Saturation with wrk; the request body's placeholder becomes a unique id per request."""
    headers = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in req.headers.items())
    script = (f"BODY = [==[{req.body.decode()}]==]\nHEADERS = {{{headers}}}\n"
              + WRK_SCRIPT % {"placeholder": PLACEHOLDER, "method": json.dumps(req.method),
                              "path": json.dumps(req.path)})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:g}s",
                              "--timeout", "30s", "-s", f.name, f"http://{HOST}:{port}", "--", tag],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
            "errors": (int(non2xx.group(1)) if non2xx else 0)
            + (int(sock.group(1)) + int(sock.group(3)) + int(sock.group(4)) if sock else 0),
            "tool": "wrk"}


def saturate(port: int, make: Callable[[int], Req], tag: str, connections: int, seconds: float) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk(port, make(-1), tag, connections, seconds)
    return closed_loop(port, make, connections, seconds)


class Browser:
    """Sequential requests with one cookie jar (sign in, forms, the dashboard, the CSV)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, Any] | None = None,
                stream: Callable[[bytes], None] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if stream:
            while chunk := response.read(65536):
                stream(chunk)
            data = b""
        else:
            data = response.read()
        conn.close()
        return response.status, data

    def hidden_fields(self, path: str) -> dict[str, str]:
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        fields = {}
        for tag in re.findall(r"<input[^>]*>", page.decode()):
            name = re.search(r'name="([^"]*)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name and 'type="hidden"' in tag:
                fields[name.group(1)] = value.group(1) if value else ""
        return fields


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


# --- the measurements -----------------------------------------------------------------------------


def api_request(tag: str) -> Callable[[int], Req]:
    def make(i: int) -> Req:
        ident = PLACEHOLDER if i < 0 else f"{tag}x{i}"
        body = {"answers": ANSWERS, "contact": {"first_name": "Dana", "email": f"{ident}@bench.example",
                                                "consent_health": True, "consent_marketing": True,
                                                "time_zone": "America/Chicago"}}
        return Req("POST", "/api/v1/assessments", {"Content-Type": "application/json"}, json.dumps(body).encode())
    return make


def bare_request(tag: str, form: bool) -> Callable[[int], Req]:
    def make(i: int) -> Req:
        ident = PLACEHOLDER if i < 0 else f"{tag}x{i}"
        if form:
            body = urllib.parse.urlencode({**STRATEGY_FORM, "email": f"{ident}@bench.example"}, doseq=True)
            return Req("POST", "/submit", {"Content-Type": "application/x-www-form-urlencoded"}, body.encode())
        return Req("POST", "/submit", {"Content-Type": "application/json"},
                   json.dumps({"answers": ANSWERS, "contact": {"email": f"{ident}@bench.example"}}).encode())
    return make


def strategy_request(stack: Stack, tag: str) -> Callable[[int], Req]:
    """The form as a browser posts it: CSRF token, session cookie and the time-trap stamp come from
    one GET (the stamp is older than FORM_MIN_SECONDS by the time the load starts)."""
    browser = Browser(stack.app_port)
    hidden = browser.hidden_fields("/strategy-session")
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    minimum = float(stack.env.get("FORM_MIN_SECONDS", "2"))
    time.sleep(minimum + 0.1)

    def make(i: int) -> Req:
        ident = PLACEHOLDER if i < 0 else f"{tag}x{i}"
        fields = {**hidden, **STRATEGY_FORM, "email": f"{ident}@bench.example", "reference_code": ""}
        body = urllib.parse.urlencode(fields, doseq=True).replace(urllib.parse.quote(PLACEHOLDER), PLACEHOLDER)
        return Req("POST", "/strategy-session", {"Content-Type": "application/x-www-form-urlencoded",
                                                 "Cookie": cookie}, body.encode())
    return make


def measure_write(stack: Stack, sink: Sink, name: str, level: int, app_make: Callable[[int], Req],
                  bare_make: Callable[[int], Req], args: argparse.Namespace, inbox: bool) -> dict[str, Any]:
    """Saturation and open loop for one form, each right after the bare baseline's."""
    out: dict[str, Any] = {}
    log(f"{name} @ {level:,} leads: saturation, bare then coachapp ({args.connections} connections, "
        f"{args.seconds:g} s each)")
    out["bare_sat"] = saturate(stack.bare_port, bare_make, f"bs{level}{name[:3]}", args.connections, args.seconds)
    out["app_sat"] = saturate(stack.app_port, app_make, f"s{level}{name[:3]}{secrets.token_hex(2)}",
                              args.connections, args.seconds)
    settle(stack)
    log(f"  saturation: bare {out['bare_sat']['rps']:,.0f} req/s, coachapp {out['app_sat']['rps']:,.1f} req/s "
        f"({out['app_sat']['errors']} errors)")

    log(f"{name} @ {level:,} leads: open loop {args.rate:g}/s for {args.seconds:g} s, bare then coachapp")
    before = stack.cpu("bare")
    bare = open_loop(stack.bare_port, bare_make, args.rate, args.seconds)
    time.sleep(0.5)
    bare_cpu = Stack.cpu_delta(before, stack.cpu("bare"))
    out["bare_open"] = bare
    out["bare_stored"] = stored(stack.engine, "bench_bare_submissions", _prefix(bare_make))
    out["bare_cpu_ms"] = {k: v * 1000 / max(out["bare_stored"], 1) for k, v in bare_cpu.items()}

    sent_before = sink.count
    before = stack.cpu("web", "worker")
    app = open_loop(stack.app_port, app_make, args.rate, args.seconds)
    waited = settle(stack)
    app_cpu = Stack.cpu_delta(before, stack.cpu("web", "worker"))
    prefix = _prefix(app_make)
    out["app_open"] = app
    out["app_stored"] = stored(stack.engine, "leads", prefix)
    out["app_cpu_ms"] = {k: v * 1000 / max(out["app_stored"], 1) for k, v in app_cpu.items()}
    out["emails"] = sink.count - sent_before
    out["settle_s"] = waited
    if inbox:
        out["inbox_ms"], out["inbox_missing"] = inbox_delays_ms(stack.engine, sink, prefix)
    log(f"  open loop: bare p50 {pct(bare.latencies_ms, 50):.1f} / p99 {pct(bare.latencies_ms, 99):.1f} ms, "
        f"coachapp p50 {pct(app.latencies_ms, 50):.1f} / p99 {pct(app.latencies_ms, 99):.1f} ms, "
        f"{app.errors} errors; CPU/request coachapp {sum(out['app_cpu_ms'].values()):.1f} ms, "
        f"bare {sum(out['bare_cpu_ms'].values()):.1f} ms")
    return out


def _prefix(make: Callable[[int], Req]) -> str:
    body = urllib.parse.unquote(make(0).body.decode())
    return re.search(r"([A-Za-z0-9]+)x0@bench\.example", body).group(1)


def timed(browser: Browser, path: str, n: int) -> list[float]:
    samples = []
    browser.request("GET", path)  # warm-up
    for _ in range(n):
        t = time.perf_counter()
        status, _ = browser.request("GET", path)
        assert status == 200, (path, status)
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def signed_in(stack: Stack) -> Browser:
    coach = Browser(stack.app_port)
    hidden = coach.hidden_fields("/auth/login")
    status, _ = coach.request("POST", "/auth/login", {**hidden, "email": OWNER_EMAIL, "password": PASSWORD})
    assert status == 302, f"sign-in answered {status}"
    return coach


def read_after_writes(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The first leads page again once the write runs have added their leads (new, uncontacted,
    each with a first-contact task for the owner), as the dashboard of a busy day looks."""
    coach = signed_in(stack)
    with stack.engine.connect() as conn:
        leads = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
        tasks = conn.execute(text("SELECT count(*) FROM coach_tasks")).scalar_one()
    n = max(10, args.read_requests // 5)
    before = stack.cpu("web")
    samples = timed(coach, "/dashboard/leads", n)
    cpu = sum(Stack.cpu_delta(before, stack.cpu("web")).values()) * 1000 / (n + 1)
    log(f"leads list after the writes ({leads:,} leads, {tasks:,} coach tasks): p50 {pct(samples, 50):.1f} / "
        f"p99 {pct(samples, 99):.1f} ms, CPU {cpu:.1f} ms per request")
    return {"list": samples, "cpu_ms": cpu, "leads": leads, "tasks": tasks}


def measure_read(stack: Stack, level: int, args: argparse.Namespace) -> dict[str, Any]:
    log(f"reads @ {level:,} leads: list, searches, CSV (signed in as the owner)")
    coach = signed_in(stack)
    bare = Browser(stack.bare_port)
    with stack.engine.connect() as conn:
        some_id = conn.execute(text("SELECT min(id) FROM leads")).scalar_one()
    n = args.read_requests
    probe = f"Seed{level // 2}@Example.com"  # a whole address as a coach pastes it: the exact-match path
    out: dict[str, Any] = {"cpu_ms": {}}
    for key, browser, tree, path in (
            ("bare_get", bare, "bare", f"/row/{some_id}"), ("list", coach, "web", "/dashboard/leads"),
            ("search_name", coach, "web", "/dashboard/leads?q=jordan"),
            ("search_email", coach, "web", f"/dashboard/leads?q={urllib.parse.quote(probe)}")):
        before = stack.cpu(tree)
        out[key] = timed(browser, path, n)
        used = Stack.cpu_delta(before, stack.cpu(tree))
        out["cpu_ms"][key] = sum(used.values()) * 1000 / (n + 1)
    for who, browser, path in (("bare_csv", bare, "/export.csv"), ("csv", coach, "/dashboard/leads.csv")):
        port = browser.port
        master = stack.procs["bare" if who == "bare_csv" else "web"].pid
        workers = descendants(master)
        base = {pid: rss_kib(pid) for pid in workers}
        peak = dict(base)
        done = threading.Event()

        def poll(workers=workers, peak=peak, done=done) -> None:
            while not done.is_set():
                for pid in workers:
                    peak[pid] = max(peak[pid], rss_kib(pid))
                time.sleep(0.02)
        watcher = threading.Thread(target=poll)
        watcher.start()
        counted = {"bytes": 0, "rows": 0}

        def count(chunk: bytes, counted=counted) -> None:
            counted["bytes"] += len(chunk)
            counted["rows"] += chunk.count(b"\n")
        t = time.perf_counter()
        status, _ = browser.request("GET", path, stream=count)
        seconds = time.perf_counter() - t
        done.set()
        watcher.join()
        assert status == 200, (port, path, status)
        out[who] = {"seconds": seconds, "rows": counted["rows"], "mb": counted["bytes"] / 1e6,
                    "rss_growth_kib": max((peak[p] - base[p] for p in workers), default=0)}
        log(f"  {who}: {counted['rows']:,} lines in {seconds:.2f} s = {counted['rows'] / seconds:,.0f} rows/s, "
            f"worker RSS +{out[who]['rss_growth_kib']:,} KiB")
    log(f"  list p99 {pct(out['list'], 99):.1f} ms, search (name) p99 {pct(out['search_name'], 99):.1f} ms, "
        f"search (one email) p99 {pct(out['search_email'], 99):.1f} ms, bare GET p99 {pct(out['bare_get'], 99):.1f} ms")
    return out


# --- report -------------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "n/a" if value != value else (f"{value:,.0f}" if value >= 100 else f"{value:.1f}")


def report(meta: dict[str, Any], levels: dict[int, dict[str, Any]], reads: dict[str, Any]) -> str:
    lines = []
    add = lines.append
    top = max(levels)
    add(f"Measured {meta['date']} with `{meta['command']}` on {meta['machine']['cpu']}, "
        f"{meta['machine']['memory']} RAM, CPython {meta['machine']['python']}; database: {meta['database']}; "
        f"broker: {meta['broker']}; gunicorn {meta['gunicorn_workers']} sync workers "
        f"(`coachapp/gunicorn_conf.py`, COACHAPP_ENV=production), Celery worker `--concurrency 2` and beat, "
        f"an aiosmtpd sink, the load generator ({meta['saturation_tool']} for saturation, an asyncio open-loop "
        f"client) — all on this one machine. Load average {meta['load_before']} before, {meta['load_after']} "
        f"after. {meta['conditions']}")
    add("")
    add("**Targets (issue 12)**, each beside the bare baseline measured right before it "
        "(bare Flask: validate + one INSERT, same gunicorn settings, same database):")
    add("")
    add("| target | leads | coachapp | bare baseline | ratio | goal | met |")
    add("|---|---:|---:|---:|---:|---|---|")
    for level, res in levels.items():
        for form, key, goal_cpu in (("API", "api", 8.0), ("strategy form", "strategy", None)):
            r = res[key]
            app_cpu, bare_cpu = sum(r["app_cpu_ms"].values()), sum(r["bare_cpu_ms"].values())
            detail = ", ".join(f"{k} {v:.1f}" for k, v in r["app_cpu_ms"].items())
            add(f"| {form}: CPU per submission incl. its email ({detail}) | {level:,} | {app_cpu:.1f} ms | "
                f"{bare_cpu:.1f} ms | {app_cpu / max(bare_cpu, 1e-9):.1f}× | "
                + (f"≤ {goal_cpu:g} ms | {'yes' if app_cpu <= goal_cpu else 'no'} |" if goal_cpu else "— | |"))
            a, b = r["app_open"], r["bare_open"]
            add(f"| {form}: open loop {meta['rate']:g}/s, p50 / p99, errors | {level:,} | "
                f"{ms(pct(a.latencies_ms, 50))} / {ms(pct(a.latencies_ms, 99))} ms, {a.errors} | "
                f"{ms(pct(b.latencies_ms, 50))} / {ms(pct(b.latencies_ms, 99))} ms, {b.errors} | "
                f"{pct(a.latencies_ms, 99) / max(pct(b.latencies_ms, 99), 1e-9):.0f}× (p99) | p99 ≤ 50 ms, 0 errors | "
                f"{'yes' if pct(a.latencies_ms, 99) <= 50 and a.errors == 0 else 'no'} |")
            s, bs = r["app_sat"], r["bare_sat"]
            share = s["rps"] / max(bs["rps"], 1e-9)
            add(f"| {form}: saturation, {meta['connections']} connections | {level:,} | {s['rps']:,.1f} req/s "
                f"({s['errors']} errors) | {bs['rps']:,.0f} req/s | {share:.1%} | ≥ 25 % | "
                f"{'yes' if share >= 0.25 else 'no'} |")
            if "inbox_ms" in r:
                p95 = pct(r["inbox_ms"], 95)
                add(f"| API: time to inbox p95 (outbox row stored → sink), {len(r['inbox_ms'])} emails"
                    f"{', ' + str(r['inbox_missing']) + ' missing' if r['inbox_missing'] else ''} | {level:,} | "
                    f"{ms(p95)} ms | — | — | ≤ 1 s | {'yes' if p95 <= 1000 and not r['inbox_missing'] else 'no'} |")
    b99 = pct(reads["bare_get"], 99)
    for label, key in (("leads list, first page", "list"), ("search, common name (`jordan`)", "search_name"),
                       ("search, one whole email address", "search_email")):
        p99 = pct(reads[key], 99)
        add(f"| {label}: p50 / p99 (CPU per request), signed in | {top:,} | {ms(pct(reads[key], 50))} / {ms(p99)} ms "
            f"({reads['cpu_ms'][key]:.1f} ms) | {ms(pct(reads['bare_get'], 50))} / {ms(b99)} ms "
            f"({reads['cpu_ms']['bare_get']:.1f} ms; primary-key GET) | {p99 / max(b99, 1e-9):.0f}× | "
            f"p99 ≤ 50 ms | {'yes' if p99 <= 50 else 'no'} |")
    after = reads["after"]
    add(f"| leads list, first page, after the write runs ({after['leads']:,} leads, {after['tasks']:,} coach tasks): "
        f"p50 / p99 (CPU per request) | {after['leads']:,} | {ms(pct(after['list'], 50))} / "
        f"{ms(pct(after['list'], 99))} ms ({after['cpu_ms']:.1f} ms) | — | — | p99 ≤ 50 ms | "
        f"{'yes' if pct(after['list'], 99) <= 50 else 'no'} |")
    c, bc = reads["csv"], reads["bare_csv"]
    rate, brate = c["rows"] / c["seconds"], bc["rows"] / bc["seconds"]
    add(f"| streamed CSV, all leads ({c['rows']:,} lines, {c['mb']:.1f} MB): rows/s, worker RSS growth | {top:,} | "
        f"{rate:,.0f} rows/s, +{c['rss_growth_kib']:,} KiB | {brate:,.0f} rows/s, +{bc['rss_growth_kib']:,} KiB "
        f"(raw cursor) | {rate / brate:.0%} | ≥ 100,000 rows/s, flat | "
        f"{'yes' if rate >= 100_000 else 'no'} |")
    add("")
    add(f"Open loop: {meta['rate']:g} requests/s for {meta['seconds']:g} s per run, latency from each request's "
        f"intended send time (a request the server could not start counts its wait), 10 s timeout = error. "
        f"CPU per submission: CPU time of the gunicorn tree, the Celery worker tree and the PostgreSQL "
        f"backends of the bench database over the open-loop run and until its emails were delivered, "
        f"divided by the submissions the server stored (including those the client had given up on; "
        f"beat and the load generator not counted; with SQLite "
        f"the database's CPU is inside the web and worker figures). Reads: {meta['read_requests']} "
        f"sequential requests each after a warm-up.")
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text_ = DOC.read_text()
    block = f"{START_MARK}\n{section}\n{END_MARK}"
    if START_MARK in text_:
        text_ = re.sub(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), lambda _: block, text_, flags=re.S)
    else:
        head, sep, rest = text_.partition("\n## ")
        text_ = f"{head}\n{block}\n\n## {rest}" if sep else f"{text_}\n{block}\n"
    DOC.write_text(text_)


# --- main ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="0 and 10,000 leads, 4 s runs (a minute or two)")
    parser.add_argument("--levels", help="lead counts, comma-separated (default 0,10000,100000)")
    parser.add_argument("--seconds", type=float, help="length of each load run (default 15, --quick 4)")
    parser.add_argument("--rate", type=float, default=100, help="open-loop arrivals per second (default 100)")
    parser.add_argument("--connections", type=int, default=6, help="saturation connections (default 6)")
    parser.add_argument("--read-requests", type=int, help="requests per read measurement (default 200, --quick 50)")
    parser.add_argument("--conditions", default="", help="a sentence for the doc about what else ran")
    parser.add_argument("--no-jit", action="store_true",
                        help="PostgreSQL: ALTER DATABASE … SET jit = off on the scratch database (a what-if)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    levels = [int(x) for x in (args.levels or ("0,10000" if args.quick else "0,10000,100000")).split(",")]
    given_seconds = args.seconds
    args.seconds = args.seconds or (4 if args.quick else 15)
    args.read_requests = args.read_requests or (50 if args.quick else 200)

    # SIGTERM (timeout, kill) ends like Ctrl-C: the finally below stops what was started and
    # drops the scratch database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    instance = Path(tempfile.mkdtemp(prefix="coachapp-bench-run-"))
    server_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    pg_name = None
    if server_url:
        db_url, pg_name = create_scratch_database(server_url, jit=not args.no_jit)
        local = make_url(db_url).host in {None, "", "127.0.0.1", "localhost", "::1"}
        database = (f"PostgreSQL (scratch database on {make_url(server_url).host}:{make_url(server_url).port}"
                    f"{', jit = off' if args.no_jit else ''})")
    else:
        from coachapp.config import database_url

        db_url, local = database_url(None, instance), False
        database = "SQLite (the embedded default)"
    sink = Sink()
    from aiosmtpd.controller import Controller

    smtp = Controller(sink, hostname=HOST, port=free_port())
    smtp.start()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SMTP_URL"}}
    env.update({
        "COACHAPP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), "BASE_URL": "https://bench.invalid",
        "COACHAPP_INSTANCE": str(instance), "SMTP_URL": f"smtp://{HOST}:{smtp.port}", "RATELIMIT_ENABLED": "0",
        "OWNER_EMAIL": OWNER_EMAIL, "PYTHONPATH": str(ROOT), "HOST": HOST, "FORWARDED_ALLOW_IPS": HOST,
        "DATABASE_URL": db_url,
    })
    if redis_url:
        env["REDIS_URL"] = redis_url
    app_port, bare_port = free_port(), free_port()
    stack = Stack(env, db_url, pg_name if local else None, app_port, bare_port)
    python = sys.executable
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "database": database,
        "broker": "Redis" if redis_url else "the filesystem broker (embedded default)",
        "command": "python3 bench/run.py" + (" --quick" if args.quick else "")
                   + (f" --levels {args.levels}" if args.levels else "")
                   + (f" --seconds {args.seconds:g}" if given_seconds else "") + (" --no-jit" if args.no_jit else ""),
        "rate": args.rate, "seconds": args.seconds, "connections": args.connections,
        "read_requests": args.read_requests, "load_before": load_average(), "conditions": args.conditions,
        "saturation_tool": "wrk" if shutil.which("wrk") else "a closed-loop asyncio client (wrk not installed)",
    }
    from coachapp.gunicorn_conf import default_workers

    meta["gunicorn_workers"] = int(env.get("WEB_CONCURRENCY") or default_workers())
    results: dict[int, dict[str, Any]] = {}
    reads: dict[str, Any] = {}
    try:
        log(f"instance {instance}; database {database}; migrating")
        subprocess.run([python, "-m", "flask", "--app", "coachapp.wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        stack.engine = create_engine(db_url)
        owner_id = seed_owner(stack.engine)
        env_bare = {"BENCH_BARE_DATABASE_URL": db_url, "PORT": str(bare_port)}
        subprocess.run([python, "-c", "from bench.bare_app import create_table; create_table()"], cwd=ROOT,
                       env={**env, **env_bare}, check=True)
        gunicorn = [python, "-m", "gunicorn", "-c", "python:coachapp.gunicorn_conf"]
        stack.start("web", [*gunicorn, "coachapp.wsgi:app"], {"PORT": str(app_port)})
        stack.start("bare", [*gunicorn, "bench.bare_app:app"], env_bare)
        stack.start("worker", [python, "-m", "celery", "-A", "coachapp.wsgi.celery_app", "worker", "--loglevel",
                               "WARNING", "--concurrency", "2"])
        stack.start("beat", [python, "-m", "celery", "-A", "coachapp.wsgi.celery_app", "beat", "--loglevel",
                             "WARNING", "--schedule", str(instance / "beat-schedule")])
        wait_http(app_port)
        wait_http(bare_port)
        time.sleep(2)  # let the worker connect to the broker
        for level in levels:
            t = time.perf_counter()
            added = seed_leads(stack.engine, level, owner_id)
            if added:
                log(f"seeded {added:,} leads in {time.perf_counter() - t:.1f} s")
            if level == max(levels):  # the reads on the seeded leads, before this level's writes add more
                reads = measure_read(stack, level, args)
            res = results[level] = {}
            res["api"] = measure_write(stack, sink, "API", level, api_request(f"a{level}"),
                                       bare_request(f"ba{level}", form=False), args, inbox=True)
            res["strategy"] = measure_write(stack, sink, "strategy form", level,
                                            strategy_request(stack, f"f{level}"),
                                            bare_request(f"bf{level}", form=True), args, inbox=False)
        reads["after"] = read_after_writes(stack, args)
    finally:
        meta["load_after"] = load_average()
        stack.stop()
        smtp.stop()
        if stack.engine is not None:
            stack.engine.dispose()
        if pg_name:
            drop_scratch_database(server_url, pg_name)
    section = report(meta, results, reads)
    how = ("\n\nRerun: `python3 bench/run.py` (30–45 minutes with today's write path, most of it draining the "
           "open-loop backlog; `--quick`: 0 and 10,000 leads, 4 s runs) — "
           "with `DATABASE_URL=postgresql://user@host/postgres REDIS_URL=redis://host:6379/N` for PostgreSQL "
           "(a scratch database is created there and dropped) and Redis, the embedded default otherwise. "
           "`apt-get install wrk` for the saturation runs (without it a Python client is used, which "
           "shares the CPU with the server and caps the bare baseline). Process logs stay in the "
           "printed instance folder.")
    print("\n" + section + how)
    if not args.no_doc:
        write_doc("## Whole stack — `bench/run.py`\n\n" + section + how)
        log(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
