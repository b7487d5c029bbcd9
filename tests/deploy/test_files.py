"""Procfile, gunicorn settings, Dockerfile and compose.yaml: the deployment recipes agree with the app."""

from __future__ import annotations

import importlib
import re

import yaml

from tests.conftest import ROOT

ENTRY = {"web": "gunicorn -c python:coachapp.gunicorn_conf coachapp.wsgi:app",
         "worker": "celery -A coachapp.wsgi.celery_app worker",
         "beat": "celery -A coachapp.wsgi.celery_app beat"}


def test_procfile_runs_web_worker_and_beat_from_the_installed_package():
    processes = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                     if line.strip() and not line.startswith("#"))
    assert set(processes) == set(ENTRY)  # honcho stops all when one exits: no one-off "release" line
    for name, command in ENTRY.items():
        assert processes[name].strip().startswith(command), name


def test_gunicorn_settings_are_reasoned(monkeypatch):
    from coachapp import gunicorn_conf

    assert gunicorn_conf.default_workers(1) == 3 and gunicorn_conf.default_workers(2) == 5
    assert gunicorn_conf.default_workers(16) == 8  # PostgreSQL's 100 connections
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("COACHAPP_ENV", "production")
    conf = importlib.reload(gunicorn_conf)
    try:
        assert conf.workers == 2 and conf.worker_class == "sync"
        assert conf.timeout == 30 and conf.graceful_timeout == 30 and conf.forwarded_allow_ips == "127.0.0.1,::1"
        assert conf.accesslog is None and "%(U)s" in conf.access_log_format and "%(r)s" not in conf.access_log_format
        assert conf.logconfig_dict["formatters"]["coachapp"]["()"].endswith("JsonFormatter")
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)
    shim = (ROOT / "gunicorn.conf.py").read_text()
    assert "from coachapp.gunicorn_conf import *" in shim


def test_statement_timeout_ends_before_gunicorn_kills_the_worker():
    from coachapp import gunicorn_conf
    from coachapp.config import engine_options

    options = engine_options("postgresql+psycopg://u@h/db", {}, production=True)["connect_args"]["options"]
    assert int(options.rsplit("=", 1)[1]) / 1000 < gunicorn_conf.timeout


def test_compose_runs_the_stack_with_migrations_first():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["COACHAPP_ENV"] == "production"
        assert ":?" in services[name]["environment"]["SECRET_KEY"]  # compose refuses to start without one
    assert " ".join(services["web"]["command"]) == ENTRY["web"]
    assert " ".join(services["worker"]["command"]).startswith(ENTRY["worker"])
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_dockerfile_installs_the_lock_then_the_wheel():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r /src/requirements.lock" in dockerfile
    assert re.search(r"pip wheel --no-deps .*\n.*pip install --no-deps /wheels/coachapp-", dockerfile)
    assert "COACHAPP_ENV=production" in dockerfile and "USER coachapp" in dockerfile
    for folder in ("coachapp", "rules", "templates", "migrations"):
        assert f"COPY {folder} /src/{folder}" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "instance", "tests"} <= set(ignored)


def test_readme_production_section_uses_these_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    assert "COACHAPP_ENV=production" in section
    assert "pip install --require-hashes -r requirements.lock" in section
    assert "flask --app coachapp.wsgi db upgrade" in section
    for command in ENTRY.values():
        assert command in section
    assert "docs/operations.md" in section
