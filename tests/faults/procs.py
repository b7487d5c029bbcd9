"""Real processes the fault tests own and break: a redis-server, a PostgreSQL cluster and
Celery workers, each on its own port or queue (the shared services are never touched)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from tests.conftest import ON_CI, ROOT, free_port


def binary(name: str) -> str:
    """Path of a server binary; fails (CI) or skips (elsewhere) when it is missing."""
    import pytest

    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if found:
        return found
    if ON_CI:
        pytest.fail(f"{name} is not installed, and CI requires the fault tests to run")
    pytest.skip(f"{name} not installed")


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    if not predicate():
        raise TimeoutError(f"{what}: not within {timeout:g} s")


class RedisServer:
    """``redis-server`` without persistence: stopping it loses the queue, as an outage can."""

    def __init__(self) -> None:
        self.binary = binary("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, 10, what="redis-server start")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
        except Exception:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


class PostgresCluster:
    """A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) on its own port and socket dir.

    PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` user.
    ``fsync=off`` is safe against what these tests do (processes crash, the machine does not);
    ``synchronous_commit`` stays on: an acknowledged commit must survive a crash.
    """

    def __init__(self) -> None:
        self.initdb = binary("initdb")
        self.pg_ctl = str(Path(self.initdb).with_name("pg_ctl"))
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="coachapp-faults-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> PostgresCluster:
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale", "C")
        return self.start()

    def start(self) -> PostgresCluster:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=60")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def crash(self) -> int:
        """Immediate shutdown, without waiting: every connection is cut within milliseconds."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGQUIT)  # what ``pg_ctl stop -m immediate`` sends
        return pid

    def wait_gone(self, pid: int, timeout: float = 30) -> None:
        def gone() -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(gone, timeout, what="postmaster exit")

    def create_database(self) -> str:
        import psycopg

        name = f"faults_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


class Worker:
    """A real Celery worker process (solo pool: the process killed is the one sending)."""

    def __init__(self, env: dict[str, str], name: str = "w") -> None:
        self.lines: list[str] = []
        cmd = [sys.executable, "-m", "celery", "-A", "wsgi.celery_app", "worker", "--pool", "solo",
               "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._ready = threading.Event()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 60) -> Worker:
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + self.tail())
        return self

    def tail(self, n: int = 40) -> str:
        return "".join(self.lines[-n:])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._pump.join(5)
        self.proc.stdout.close()
