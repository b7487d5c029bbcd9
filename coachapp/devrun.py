"""``python3 wsgi.py [run|test]``: the whole app in one command, or the tests.

``run`` migrates the database, then starts the web server, a Celery worker and
Celery beat as child processes, and stops them all together (Ctrl-C, or when
any of them exits).  On the embedded default that is SQLite + a filesystem
broker + captured emails at /outbox; DATABASE_URL, REDIS_URL and SMTP_URL
switch to the real services.
"""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404  # runs this project's own commands: fixed argv, no shell
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run_all(argv: list[str]) -> int:
    port = os.environ.get("PORT", "5000")
    host = os.environ.get("HOST", "127.0.0.1")
    env = {**os.environ, "FLASK_APP": "wsgi", "BASE_URL": os.environ.get("BASE_URL", f"http://{host}:{port}")}
    python = sys.executable
    subprocess.run([python, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True)  # nosec B603  # fixed argv
    coaches = subprocess.run([python, "-m", "flask", "coaches", "list"], cwd=ROOT, env=env,  # nosec B603  # fixed argv
                             capture_output=True, text=True, check=True)
    if not coaches.stdout.strip():
        print("No coaches yet. To use the dashboard, add the owner:\n"
              "  .venv/bin/flask --app wsgi coaches create --name 'Your Name' --email you@example.com "
              "--owner --password\n", flush=True)
    commands = {
        "web": [python, "-m", "flask", "run", "--host", host, "--port", port, *argv],
        "worker": [python, "-m", "celery", "-A", "wsgi.celery_app", "worker",
                   "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [python, "-m", "celery", "-A", "wsgi.celery_app", "beat", "--loglevel", "INFO"],
    }
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=env)  # nosec B603  # argv lists defined above
                for name, cmd in commands.items()}
    mailbox = "" if env.get("SMTP_URL") else f" · captured emails (owner sign-in): http://{host}:{port}/outbox/"
    print(f"\ncoachapp running: http://{host}:{port}/assessment · dashboard: http://{host}:{port}/dashboard/"
          f"{mailbox}\n(Ctrl-C stops web, worker and beat)\n", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the others", flush=True)
                code = child.returncode or 1
                stopping = True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def _run_tests(argv: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=ROOT)  # nosec B603  # pytest args, no shell


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if command == "run":
        return _run_all(rest)
    if command == "test":
        return _run_tests(rest)
    print(__doc__)
    print("usage: python3 wsgi.py [run|test] [args…]")
    return 2
