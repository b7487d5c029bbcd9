"""/healthz and /readyz: what a load balancer, systemd or compose sees."""

from __future__ import annotations

import pytest

from tests.conftest import REDIS_URL, dispose, make_config, require


def _app(database_url: str, **overrides):
    from coachapp import create_app

    return create_app(make_config(database_url, **overrides))


def test_healthz_answers_without_the_database(tmp_path):
    app = _app("postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_on_a_migrated_database(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready",
                                   "checks": {"database": "ok", "migrations": "ok", "broker": "ok"}}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_not_rate_limited(rate_limited_app):
    client = rate_limited_app.test_client()
    statuses = {client.get(path).status_code for path in ("/healthz", "/readyz") for _ in range(120)}
    assert statuses == {200}


def test_readyz_says_503_when_the_database_is_down():
    app = _app("postgresql://postgres@127.0.0.1:1/nowhere",
               SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["checks"]["database"] == "unreachable"
    assert "database unreachable" in body["reason"]
    assert "127.0.0.1" not in response.get_data(as_text=True)  # detail goes to the log only


def test_readyz_says_503_until_the_migrations_ran(tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from coachapp.extensions import db

    app = _app(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"].startswith("not applied")
    with app.app_context():
        upgrade(revision="6d2e8a829f5d")  # the first migration only
    assert client.get("/readyz").get_json()["checks"]["migrations"].startswith("pending")
    with app.app_context():
        upgrade()
        assert client.get("/readyz").status_code == 200
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    assert client.get("/readyz").get_json()["checks"]["migrations"] == "database is ahead of this release"
    dispose(app)


@pytest.mark.parametrize("reachable", [True, False], ids=["redis-up", "redis-down"])
def test_readyz_checks_redis_when_it_is_the_broker(app, database_url, reachable, tmp_path):
    from coachapp.config import celery_settings

    url = REDIS_URL if reachable else "redis://127.0.0.1:1/0"
    if reachable:
        require(REDIS_URL, "Redis")
    checked = _app(database_url, CELERY=celery_settings({"REDIS_URL": url}, tmp_path))
    response = checked.test_client().get("/readyz")
    if reachable:
        assert response.status_code == 200 and response.get_json()["checks"]["broker"] == "ok"
    else:
        assert response.status_code == 503
        assert response.get_json()["checks"]["broker"] == "unreachable"
    dispose(checked)
