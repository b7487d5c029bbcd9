"""Probes for a load balancer, systemd or compose.

``/healthz``: the process is up and answering (touches nothing else; restart it if this fails).
``/readyz``: it can do its work: the database answers, its schema is at the migrations' head and,
with Redis as the broker, Redis answers. 200 or 503 with the failing checks named.

Neither is rate-limited, sets a cookie, or says anything about leads; a failure's detail (which
may name a host) goes to the log, not to the response.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.wrappers import Response

from coachapp.extensions import db, limiter

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)
limiter.exempt(bp)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> Response:
    checks = {"database": "ok", "migrations": "ok", "broker": "ok"}
    checks.update(_database_checks(current_app))
    checks["broker"] = _broker_check(current_app)
    failing = {name: state for name, state in checks.items() if state not in ("ok", "skipped")}
    if not failing:
        return _no_store(jsonify(status="ready", checks=checks))
    reason = "; ".join(f"{name} {state}" for name, state in failing.items())
    logger.warning("not ready: %s", reason)
    response = jsonify(status="not ready", reason=reason, checks=checks)
    response.status_code = 503
    return _no_store(response)


def _migration_heads(app: Flask) -> tuple[set[str], set[str]]:
    """(heads, every known revision) of the migrations this release carries; read once."""
    cached = app.extensions.get("coachapp.migration_heads")
    if cached is None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(app.extensions["migrate"].directory)
        cached = (set(script.get_heads()), {rev.revision for rev in script.walk_revisions()})
        app.extensions["coachapp.migration_heads"] = cached
    return cached


def _database_checks(app: Flask) -> dict[str, str]:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any failure to reach or query the database means "not ready"
        logger.warning("readyz: database check failed: %s", type(exc).__name__)
        return {"database": "unreachable", "migrations": "unknown"}
    heads, known = _migration_heads(app)
    if current == heads:
        return {}
    if not current:
        return {"migrations": "not applied (run: flask db upgrade)"}
    if current - known:
        return {"migrations": "database is ahead of this release"}
    return {"migrations": "pending (run: flask db upgrade)"}


def _broker_check(app: Flask) -> str:
    settings: dict[str, Any] = app.config["CELERY"]
    url = settings.get("broker_url") or ""
    if url.startswith(("redis://", "rediss://")):
        client = app.extensions.get("coachapp.health_redis")
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            app.extensions["coachapp.health_redis"] = client
        try:
            client.ping()
        except Exception as exc:  # timeouts, refused connections, auth errors alike
            logger.warning("readyz: broker check failed: %s", type(exc).__name__)
            return "unreachable"
        return "ok"
    if url == "filesystem://":
        folder = Path(settings["broker_transport_options"]["data_folder_in"])
        return "ok" if folder.is_dir() and os.access(folder, os.W_OK) else "folder not writable"
    return "skipped"
