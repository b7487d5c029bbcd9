"""The README's run command: one process tree serving web + worker + beat on the
embedded default, with the plan email captured and readable in the app."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing

import pytest

from tests.conftest import ROOT, free_port
from tests.helpers import CONTACT, DESK_ACHILLES

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def _statuses(database) -> list[str]:
    """The captured emails' statuses, read straight from the app's SQLite file."""
    try:
        with closing(sqlite3.connect(database)) as conn:
            return [row[0] for row in conn.execute("SELECT status FROM outbox_messages")]
    except sqlite3.Error:  # not migrated yet
        return []


def test_run_command_serves_and_delivers(tmp_path):
    port = free_port()
    env = {**os.environ, "PORT": str(port), "COACHAPP_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
           "CELERY_BROKER_DIR": str(tmp_path / "broker")}
    for name in ("REDIS_URL", "SMTP_URL", "SECRET_KEY"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "wsgi.py"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _get(f"{base}/assessment")[0] != 200:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
        status, html = _get(f"{base}/assessment")
        assert status == 200 and "Start the free assessment" in html
        request = urllib.request.Request(
            f"{base}/api/v1/assessments", method="POST",
            data=json.dumps({"answers": DESK_ACHILLES, "contact": CONTACT}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "sent" not in _statuses(tmp_path / "app.sqlite"):
            time.sleep(0.5)
        assert "sent" in _statuses(tmp_path / "app.sqlite"), "the worker did not deliver"
        assert "Coach sign-in" in _get(f"{base}/outbox/")[1]  # captured mail: the owner's, after sign-in
        assert (tmp_path / "instance" / "secret_key").exists()  # generated, not hard-coded
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            output = proc.stdout.read()
            proc.stdout.close()
    assert proc.returncode == 0, output[-3000:]
