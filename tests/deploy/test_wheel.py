"""The wheel, installed into a fresh venv outside the checkout, migrates and serves /readyz.

The fresh venv reuses .venv's packages through a .pth line (no network, no dependency install),
but coachapp itself comes only from the wheel: rules/, templates/ and migrations/ must be in it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, ROOT, PostgresDatabase, free_port, require

#: What the Dockerfile copies into its build stage: the wheel must build from these alone.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "coachapp", "rules", "templates", "migrations")
CHECK = """
import json, coachapp
from coachapp.wsgi import app
client = app.test_client()
ready = client.get("/readyz")
print(json.dumps({"package": coachapp.__file__, "rules": app.config["RULES_DIR"], "templates": app.template_folder,
                  "migrations": app.extensions["migrate"].directory, "instance": app.instance_path,
                  "ready": [ready.status_code, ready.get_json()], "page": client.get("/assessment").status_code}))
"""


class Installed:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.venv = tmp / "venv"
        self.python = self.venv / "bin" / "python"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "COACHAPP_INSTANCE", "FLASK_APP", "PYTHONPATH"}}
        env.update(COACHAPP_ENV="production", SECRET_KEY=secrets.token_urlsafe(48), BASE_URL="https://coach.example",
                   PYTHONDONTWRITEBYTECODE="1", CELERY_QUEUE=f"wheel-{secrets.token_hex(4)}")
        env.update(extra)
        return env

    def run(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        result = subprocess.run([str(self.python), *args], cwd=self.tmp, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(tmp / "dist"), str(source)], check=True, timeout=120)
    (wheel,) = (tmp / "dist").glob("coachapp-*.whl")
    target = Installed(tmp)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target.venv)], check=True)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.check_output([str(target.python), "-c", purelib], text=True).strip())
    (site / "deps-from-dotvenv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # pip comes from .venv through the .pth; --ignore-installed leaves .venv's editable coachapp alone.
    subprocess.run([str(target.python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
                    "--disable-pip-version-check", str(wheel)], check=True, timeout=120)
    return target


def _check(installed: Installed, env: dict[str, str]) -> dict:
    return json.loads(installed.run("-c", CHECK, env=env).stdout.strip().splitlines()[-1])


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_carries_rules_templates_and_migrations(installed):
    (package,) = (installed.venv / "lib").glob("python3*/site-packages/coachapp")
    for name in ("rules", "templates", "migrations"):
        assert _files(package / "_data" / name) == _files(ROOT / name), f"{name}/ differs from the checkout's"


@pytest.fixture(scope="module")
def sqlite_env(installed) -> dict[str, str]:
    """A SQLite database migrated by the installed package's ``flask db upgrade``."""
    env = installed.env(DATABASE_URL=f"sqlite:///{installed.tmp / 'app.sqlite'}")
    upgrade = installed.run("-m", "flask", "--app", "coachapp.wsgi", "db", "upgrade", env=env)
    assert "setup plugin" not in upgrade.stdout + upgrade.stderr  # quiet flask commands
    return env


def test_installed_wheel_migrates_sqlite_and_is_ready(installed, sqlite_env):
    found = _check(installed, sqlite_env)
    assert found["ready"] == [200, {"status": "ready", "checks": {"database": "ok", "migrations": "ok",
                                                                  "broker": "ok"}}]
    assert found["page"] == 200  # templates found
    for key in ("package", "rules", "templates", "migrations", "instance"):
        assert found[key].startswith(str(installed.venv)), (key, found[key])  # nothing from the checkout


def test_installed_wheel_migrates_postgresql_and_is_ready(installed):
    require(POSTGRES_URL, "PostgreSQL")
    database = PostgresDatabase(POSTGRES_URL)
    env = installed.env(DATABASE_URL=database.create())
    try:
        # Before the upgrade: not ready, and it says why (one process: upgrade in between).
        script = ("from flask_migrate import upgrade\nfrom coachapp.wsgi import app\n"
                  "before = app.test_client().get('/readyz')\nprint(before.status_code, before.get_json()['checks'])\n"
                  "with app.app_context():\n    upgrade()\n") + CHECK
        output = installed.run("-c", script, env=env).stdout.strip().splitlines()
        assert output[0].startswith("503") and "not applied" in output[0]
        assert json.loads(output[-1])["ready"][0] == 200
    finally:
        database.drop()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return 0, {}, b""


def test_gunicorn_serves_the_installed_wheel_with_json_logs(installed, sqlite_env):
    port = free_port()
    env = {**sqlite_env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}
    proc = subprocess.Popen([str(installed.python), "-m", "gunicorn", "-c", "python:coachapp.gunicorn_conf",
                             "coachapp.wsgi:app"], cwd=installed.tmp, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and status != 200:
            assert proc.poll() is None, proc.stdout.read()
            status, headers, body = _get(f"http://127.0.0.1:{port}/readyz")
            time.sleep(0.2)
        assert status == 200, body
        assert json.loads(body)["status"] == "ready"
        assert _get(f"http://127.0.0.1:{port}/assessment?utm_source=news")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    (request,) = [line for line in lines if line.get("event") == "request"]
    assert request["route"] == "/assessment" and request["status"] == 200 and len(request["request_id"]) == 32
    assert "utm_source" not in output  # no query strings in the logs
