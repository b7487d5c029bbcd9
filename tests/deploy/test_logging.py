"""Logs: one line per event (JSON in production), a request id, nothing personal."""

from __future__ import annotations

import json
import logging
import re
import secrets

import pytest

from tests.conftest import clean_tables, dispose, make_config
from tests.helpers import CONTACT, DESK_ACHILLES

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture
def logging_app(app, database_url):
    """The session database, served as production serves it (not TESTING, JSON logs); coachapp's
    handler is taken off the root logger again afterwards."""
    from coachapp import create_app

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    clean_tables(app)
    production = create_app(make_config(database_url, TESTING=False, COACHAPP_ENV="production",
                                        SECRET_KEY=secrets.token_urlsafe(48), BASE_URL="https://coach.test",
                                        LOG_FORMAT="json"))
    try:
        yield production
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        clean_tables(app)
        dispose(production)


def test_a_sane_request_id_is_echoed_and_others_are_replaced(app):
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "lb-4f2a:77.1"}).headers["X-Request-ID"] == "lb-4f2a:77.1"
    for bad in ("", "x" * 200, "a b", "<script>", "-leading-dash"):
        given = client.get("/assessment", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", given), bad
    first, second = (client.get("/nowhere").headers["X-Request-ID"] for _ in range(2))
    assert first != second


def test_production_logs_json_lines_with_request_ids_and_no_personal_data(logging_app, capfd):
    client = logging_app.test_client()
    created = client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": CONTACT},
                          headers={"X-Request-ID": "req-from-proxy-1"})
    assert created.status_code == 201, created.get_json()
    client.get("/assessment?utm_source=newsletter&token=s3cret-t0ken")
    logging.getLogger("coachapp.somewhere").warning("could not send to %s", CONTACT["email"])
    try:
        raise ValueError(f"bad address {CONTACT['email']}")
    except ValueError:
        logging.getLogger("coachapp.somewhere").exception("failed")
    output = capfd.readouterr().err
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is one JSON object
    assert lines, output
    requests = [line for line in lines if line.get("event") == "request"]
    assert {(r["method"], r["route"], r["status"]) for r in requests} >= {("POST", "/api/v1/assessments", 201),
                                                                          ("GET", "/assessment", 200)}
    assert [r["request_id"] for r in requests if r["method"] == "POST"] == ["req-from-proxy-1"]
    assert all(line["level"] and line["logger"] and line["ts"] for line in lines)
    assert not EMAIL.search(output), EMAIL.findall(output)
    assert "s3cret-t0ken" not in output and "utm_source" not in output
    assert any(line.get("exc", "").startswith("Traceback") and "<email>" in line["exc"] for line in lines)


def test_development_logs_readable_text_lines():
    from coachapp.logging_setup import ContextFilter, TextFormatter

    record = logging.LogRecord("coachapp.x", logging.INFO, __file__, 1, "mailed %s", ("dana@example.com",), None)
    ContextFilter().filter(record)
    line = TextFormatter().format(record)
    assert line.endswith("INFO coachapp.x: mailed <email>")


def test_the_dev_servers_access_lines_are_dropped():
    from coachapp.logging_setup import DropDevServerAccessLines

    access = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '127.0.0.1 - - [02/Dec/2026 06:00:00] "GET /unsubscribe/tok HTTP/1.1" 200 -', (), None)
    banner = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, " * Running on http://127.0.0.1:5000", (), None)
    assert not DropDevServerAccessLines().filter(access)
    assert DropDevServerAccessLines().filter(banner)
