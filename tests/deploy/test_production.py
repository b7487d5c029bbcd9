"""COACHAPP_ENV=production: refuses unsafe settings; database timeouts; key rotation."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from coachapp.config import ProductionConfigError, engine_options, from_env
from tests.conftest import POSTGRES_URL, ROOT, make_config, require

GOOD_KEY = secrets.token_urlsafe(48)


def _create(**overrides):
    from coachapp import create_app

    return create_app(make_config("sqlite://", COACHAPP_ENV="production", **overrides))


@pytest.mark.parametrize(("settings", "message"), [
    ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": "changeme"}, "SECRET_KEY is a placeholder"),
    ({"SECRET_KEY": "short-but-random-8f3k"}, "shorter than 32"),
    ({"SECRET_KEY": GOOD_KEY, "BASE_URL": "http://coach.example"}, "BASE_URL must start with https://"),
], ids=["missing", "placeholder", "short", "http"])
def test_production_refuses_unsafe_settings(settings, message):
    config = {"SECRET_KEY": GOOD_KEY, "BASE_URL": "https://coach.example", **settings}
    with pytest.raises(ProductionConfigError, match=message):
        _create(**config)


def test_production_starts_with_a_real_key_and_https():
    app = _create(SECRET_KEY=GOOD_KEY, BASE_URL="https://coach.example")
    assert app.config["COACHAPP_ENV"] == "production"


def test_development_is_the_default_and_unknown_environments_are_refused(tmp_path):
    assert from_env({}, tmp_path)["COACHAPP_ENV"] == "development"
    with pytest.raises(ProductionConfigError, match="COACHAPP_ENV must be"):
        from_env({"COACHAPP_ENV": "prod"}, tmp_path)


def test_production_never_generates_a_key_into_the_instance_folder(tmp_path):
    config = from_env({"COACHAPP_ENV": "production"}, tmp_path)
    assert config["SECRET_KEY"] == "" and not (tmp_path / "secret_key").exists()
    assert config["LOG_FORMAT"] == "json"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


def test_a_flask_command_stops_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env.update(COACHAPP_ENV="production", BASE_URL="http://coach.example", COACHAPP_INSTANCE=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "coachapp.wsgi", "rules", "check"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "refuses to start with COACHAPP_ENV=production" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr and "BASE_URL must start with https://" in result.stderr


def test_postgresql_gets_connect_and_statement_timeouts(tmp_path):
    options = engine_options("postgresql+psycopg://u@h/db", {}, production=False)
    assert options["connect_args"] == {"connect_timeout": 5, "options": "-c jit=off -c statement_timeout=15000"}
    tuned = engine_options("postgresql+psycopg://u@h/db", {"DATABASE_CONNECT_TIMEOUT": "2",
                                                           "DATABASE_STATEMENT_TIMEOUT": "0"}, production=True)
    assert tuned["connect_args"] == {"connect_timeout": 2, "options": "-c jit=off"} and tuned["hide_parameters"]
    jit_on = engine_options("postgresql+psycopg://u@h/db", {"DATABASE_JIT": "on", "DATABASE_STATEMENT_TIMEOUT": "0"},
                            production=False)
    assert "options" not in jit_on["connect_args"]
    assert "connect_args" not in engine_options("sqlite:///x", {}, production=False)
    from_postgres_env = from_env({"DATABASE_URL": "postgresql://u@h/db", "DATABASE_STATEMENT_TIMEOUT": "0.5"}, tmp_path)
    assert from_postgres_env["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] == (
        "-c jit=off -c statement_timeout=500")


def test_the_statement_timeout_cancels_a_slow_query(tmp_path):
    require(POSTGRES_URL, "PostgreSQL")
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from coachapp.config import database_url

    url = database_url(POSTGRES_URL, tmp_path)
    engine = create_engine(url, **engine_options(url, {"DATABASE_STATEMENT_TIMEOUT": "0.2"}, production=True))
    try:
        with engine.connect() as conn, pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(3)"))
    finally:
        engine.dispose()


def test_an_old_key_in_fallbacks_still_opens_sessions_and_links():
    from flask import session

    from coachapp.links import calendar_serializer, unsubscribe_serializer, unsubscribe_token

    old_key, new_key = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    before = _create(SECRET_KEY=old_key, BASE_URL="https://coach.example")
    after = _create(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key], BASE_URL="https://coach.example")
    never = _create(SECRET_KEY=new_key, BASE_URL="https://coach.example")

    @before.get("/set")
    def set_session():
        session["who"] = "me"
        return "ok"

    for app in (after, never):
        app.add_url_rule("/get", "get", lambda: session.get("who", "nobody"))

    with before.test_request_context():
        token, feed = unsubscribe_token(7), calendar_serializer().dumps({"lead": 7})
    with after.test_request_context():
        assert unsubscribe_serializer().loads(token) == {"lead": 7}
        assert calendar_serializer().loads(feed) == {"lead": 7}
        assert unsubscribe_serializer().loads(unsubscribe_token(7)) == {"lead": 7}  # new links: new key
    with never.test_request_context(), pytest.raises(Exception, match="Signature"):
        unsubscribe_serializer().loads(token)
    signed = before.test_client().get("/set").headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    for app, expected in ((after, "me"), (never, "nobody")):
        client = app.test_client()
        client.set_cookie("session", signed)
        assert client.get("/get").get_data(as_text=True) == expected
