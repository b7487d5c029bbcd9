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
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
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

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.load_kit import Browser, Req, api_request, bare_request, open_loop, saturate, strategy_request  # noqa: E402
from bench.run_report import DOC, report, write_doc  # noqa: E402
from bench.stack_kit import (  # noqa: E402
    HOST,
    OWNER_EMAIL,
    PASSWORD,
    Sink,
    Stack,
    create_scratch_database,
    descendants,
    drop_scratch_database,
    free_port,
    inbox_delays_ms,
    load_average,
    log,
    machine,
    pct,
    rss_kib,
    seed_leads,
    seed_owner,
    settle,
    stored,
    wait_http,
)

# --- the measurements -----------------------------------------------------------------------------


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
    how = ("\n\nRerun: `python3 bench/run.py` (about 10 minutes on a quiet 2-core machine; `--quick`: 0 and "
           "10,000 leads, 4 s runs) — "
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
