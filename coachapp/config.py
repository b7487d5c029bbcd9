"""Configuration, parsed once from the environment.

The embedded default needs nothing but Python: SQLite under ``instance/``, a
filesystem Celery broker, and emails captured in the database (readable in the
app).  ``DATABASE_URL``, ``REDIS_URL`` and ``SMTP_URL`` switch to PostgreSQL,
Redis and a real SMTP server.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(raw: str | None, instance: Path) -> str:
    """Normalise ``DATABASE_URL``; default to SQLite in the instance folder."""
    if not raw:
        return f"sqlite:///{instance / 'coachapp.sqlite'}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


def _secret_key(env: Mapping[str, str], instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def celery_settings(env: Mapping[str, str], instance: Path) -> dict[str, Any]:
    """Celery settings: Redis when REDIS_URL is set, else a filesystem broker."""
    redis_url = env.get("REDIS_URL")
    queue = env.get("CELERY_QUEUE", "coachapp")
    settings: dict[str, Any] = {
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": queue,
        "broker_connection_retry_on_startup": True,
        # Publishing must fail fast when the broker is down: the outbox row is
        # already committed and the beat sweep re-enqueues it later.
        "task_publish_retry_policy": {
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        "beat_schedule": {
            "outbox-sweep": {"task": "outbox.sweep", "schedule": 60.0},
            "followups-sweep": {"task": "followups.sweep", "schedule": 60.0},
            "assessments-purge-abandoned": {
                "task": "assessments.purge_abandoned",
                "schedule": 3600.0,
            },
        },
        "beat_schedule_filename": str(instance / "celerybeat-schedule"),
        "worker_hijack_root_logger": False,
    }
    if redis_url:
        settings["broker_url"] = redis_url
        settings["broker_transport_options"] = {
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "visibility_timeout": 3600,
        }
    else:
        folder = Path(env.get("CELERY_BROKER_DIR") or instance / "broker")
        settings["broker_url"] = "filesystem://"
        settings["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    return settings


def from_env(env: Mapping[str, str], instance: Path) -> dict[str, Any]:
    """Build the Flask config mapping from an environment mapping."""
    base_url = env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    return {
        "SECRET_KEY": _secret_key(env, instance),
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL"), instance),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "Motive Training <coach@motive.example>"),
        "MAIL_REPLY_TO": env.get("MAIL_REPLY_TO") or None,
        "BUSINESS_NAME": env.get("BUSINESS_NAME", "Motive Training"),
        "BUSINESS_ADDRESS": env.get("BUSINESS_ADDRESS", "Austin, TX, USA"),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": base_url.split("://", 1)[0],
        "RULES_DIR": env.get("RULES_DIR") or str(ROOT / "rules"),
        # Who is told about new leads when no coach covers them; the forms' default time zone.
        "OWNER_EMAIL": env.get("OWNER_EMAIL") or None,
        "DEFAULT_TIME_ZONE": env.get("DEFAULT_TIME_ZONE", "America/Chicago"),
        "ABANDONED_RETENTION_DAYS": int(env.get("ABANDONED_RETENTION_DAYS", "30")),
        "OUTBOX_MAX_ATTEMPTS": int(env.get("OUTBOX_MAX_ATTEMPTS", "6")),
        "RECIPIENT_DAILY_CAP": int(env.get("RECIPIENT_DAILY_CAP", "8")),
        "ESCALATE_AFTER_MINUTES": int(env.get("ESCALATE_AFTER_MINUTES", "240")),
        "DIGEST_HOUR": int(env.get("DIGEST_HOUR", "7")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), base_url.startswith("https")),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "PROXY_FIX_HOPS": int(env.get("PROXY_FIX_HOPS", "0")),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_SWALLOW_ERRORS": True,  # a Redis outage must not take the forms down
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "CELERY": celery_settings(env, instance),
    }
