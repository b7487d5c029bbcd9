"""Configuration, parsed once from the environment.

The embedded default needs nothing but Python: SQLite under ``instance/``, a
filesystem Celery broker, and emails captured in the database (readable in the
app).  ``DATABASE_URL``, ``REDIS_URL`` and ``SMTP_URL`` switch to PostgreSQL,
Redis and a real SMTP server.

Production mode is ``COACHAPP_ENV=production`` (the default is ``development``): the app then
refuses to start without a real ``SECRET_KEY`` or with a non-https ``BASE_URL``
(:func:`check_production`), logs JSON lines and hides SQL parameters from error messages.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from coachapp.embedding import parse_origins, session_cookie

ROOT = Path(__file__).resolve().parent.parent
#: Where a wheel carries rules/, templates/ and migrations/ (copied there by setup.py's build
#: hook); in a checkout they are the top-level folders beside the package.
BUNDLED_DATA = Path(__file__).resolve().parent / "_data"


def data_path(name: str) -> Path:
    """``rules``, ``templates`` or ``migrations``: inside the installed package, else the checkout's."""
    bundled = BUNDLED_DATA / name
    return bundled if bundled.is_dir() else ROOT / name


def default_instance() -> Path:
    """instance/ in a checkout; ``<venv>/var/coachapp-instance`` when installed from a wheel."""
    if BUNDLED_DATA.is_dir():
        return Path(sys.prefix) / "var" / "coachapp-instance"
    return ROOT / "instance"


ENVIRONMENTS = ("development", "production")
#: Values that are not secrets (copied from examples); refused in production.
PLACEHOLDER_SECRETS = frozenset({"dev", "development", "secret", "changeme", "change-me", "change_me",
                                 "replace-me", "please-change-me", "test", "...", "…", "xxx"})
MIN_SECRET_LENGTH = 32


class ProductionConfigError(RuntimeError):
    """The configuration is unsafe for COACHAPP_ENV=production; the message says what to set."""


def environment(env: Mapping[str, str]) -> str:
    value = (env.get("COACHAPP_ENV") or "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise ProductionConfigError(f"COACHAPP_ENV must be 'production' or 'development', not {value!r}")
    return value


def production_problems(config: Mapping[str, Any]) -> list[str]:
    """What stops this configuration from running in production (empty: nothing)."""
    problems = []
    key = config.get("SECRET_KEY") or ""
    if not key:
        problems.append("SECRET_KEY is not set. Generate one with: "
                        "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    elif key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
        problems.append(f"SECRET_KEY is a placeholder or shorter than {MIN_SECRET_LENGTH} characters. "
                        "Generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    base_url = config.get("BASE_URL") or ""
    if not base_url.startswith("https://"):
        problems.append(f"BASE_URL must start with https:// (email links and the secure session cookie "
                        f"depend on it), not {base_url!r}")
    plain = [o for o in parse_origins(config.get("EMBED_ORIGINS")) if not o.startswith("https://")]
    if plain:
        problems.append(f"EMBED_ORIGINS must list https:// sites only (a page served over http can be "
                        f"altered on the way, and the frame's cookie is Secure), not {', '.join(plain)}")
    return problems


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to start in production with a missing/default SECRET_KEY or a non-https BASE_URL."""
    if config.get("COACHAPP_ENV") != "production":
        return
    problems = production_problems(config)
    if problems:
        raise ProductionConfigError("coachapp refuses to start with COACHAPP_ENV=production:\n  - "
                                    + "\n  - ".join(problems))


def engine_options(url: str, env: Mapping[str, str], production: bool) -> dict[str, Any]:
    """SQLAlchemy engine options: PostgreSQL gets a connect and a statement timeout.

    ``DATABASE_CONNECT_TIMEOUT`` (seconds, default 5) bounds waiting for the server;
    ``DATABASE_STATEMENT_TIMEOUT`` (seconds, default 15, 0 = none) makes PostgreSQL cancel a
    statement before gunicorn's 30 s worker timeout would kill the whole worker. PostgreSQL's JIT
    is off (``DATABASE_JIT=on`` turns it back on): the dashboard's short counts look expensive to
    the planner, and compiling them cost 0.8 s of a 0.85 s query at 10,000 leads (docs/benchmarks.md).
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if production:
        options["hide_parameters"] = True  # SQL errors in the logs carry no emails or names
    if url.startswith("postgresql"):
        connect_args: dict[str, Any] = {"connect_timeout": max(1, int(float(env.get("DATABASE_CONNECT_TIMEOUT") or 5)))}
        statement_ms = int(float(env.get("DATABASE_STATEMENT_TIMEOUT") or 15) * 1000)
        settings = [] if _bool(env.get("DATABASE_JIT")) else ["-c jit=off"]
        if statement_ms > 0:
            settings.append(f"-c statement_timeout={statement_ms}")
        if settings:
            connect_args["options"] = " ".join(settings)
        options["connect_args"] = connect_args
    return options


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
    """SECRET_KEY from the environment, else (not in production) one generated once into instance/."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    if environment(env) == "production":
        return ""  # check_production refuses it: every process and host must share one key
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def outbox_settings(env: Mapping[str, str]) -> dict[str, float]:
    """The outbox's clocks, in seconds (docs/ARCHITECTURE.md, "Faults: what happens when…").

    A claim holds for ``OUTBOX_CLAIM_LEASE`` (renewed while the send runs); a dead worker's row
    is retaken after it. Everything one send may take must fit well inside it: the SMTP
    conversation (``OUTBOX_SEND_DEADLINE``, each socket operation ``SMTP_TIMEOUT``) plus
    retrying to record the outcome through a database outage (``OUTBOX_RECORD_DEADLINE``) stay
    under the Celery soft time limit (80 % of the lease; the hard limit is 90 %).
    """
    lease = float(env.get("OUTBOX_CLAIM_LEASE") or 120)
    settings = {
        "OUTBOX_CLAIM_LEASE": lease,
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT") or 10),
        "OUTBOX_SEND_DEADLINE": float(env.get("OUTBOX_SEND_DEADLINE") or 30),
        # A worker keeps its SMTP connection open for the next email this long (0: one per email).
        # 90 s carries the emails of one beat minute to the next; RFC 5321 asks servers to wait
        # 5 min for a command, so a server rarely drops it first (and if it does: RSET says so).
        "SMTP_KEEPALIVE": float(env.get("SMTP_KEEPALIVE") or 90),
        "OUTBOX_RECORD_DEADLINE": float(env.get("OUTBOX_RECORD_DEADLINE") or 60),
        "OUTBOX_SOFT_TIME_LIMIT": round(lease * 0.8, 3),
        "OUTBOX_HARD_TIME_LIMIT": round(lease * 0.9, 3),
        # A published row nobody picked up (the broker lost it) is published again after this.
        "OUTBOX_REPUBLISH_AFTER": float(env.get("OUTBOX_REPUBLISH_AFTER") or 300),
        # Each broker call when publishing; after a failure, requests skip the broker this long.
        "OUTBOX_PUBLISH_TIMEOUT": float(env.get("OUTBOX_PUBLISH_TIMEOUT") or 0.3),
        "OUTBOX_PUBLISH_PAUSE": float(env.get("OUTBOX_PUBLISH_PAUSE") or 10),
    }
    if settings["OUTBOX_SEND_DEADLINE"] + settings["OUTBOX_RECORD_DEADLINE"] >= settings["OUTBOX_SOFT_TIME_LIMIT"]:
        raise ValueError(
            f"OUTBOX_SEND_DEADLINE ({settings['OUTBOX_SEND_DEADLINE']:g} s) + OUTBOX_RECORD_DEADLINE "
            f"({settings['OUTBOX_RECORD_DEADLINE']:g} s) must stay under 80 % of OUTBOX_CLAIM_LEASE ({lease:g} s)"
        )
    return settings


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
            "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 60.0},
            "assessments-purge-abandoned": {
                "task": "assessments.purge_abandoned",
                "schedule": 3600.0,
            },
        },
        "beat_schedule_filename": str(instance / "celerybeat-schedule"),
        "worker_hijack_root_logger": False,
    }
    timing = outbox_settings(env)  # a send can never outlive its claim
    hook_lease = float(env.get("WEBHOOKS_CLAIM_LEASE") or 60)
    settings["task_annotations"] = {"outbox.send": {"soft_time_limit": timing["OUTBOX_SOFT_TIME_LIMIT"],
                                                    "time_limit": timing["OUTBOX_HARD_TIME_LIMIT"]},
                                    # a POST (WEBHOOKS_DEADLINE, 30 s) inside its claim (60 s): 45 / 54 s
                                    "webhooks.deliver": {"soft_time_limit": round(hook_lease * 0.75, 3),
                                                         "time_limit": round(hook_lease * 0.9, 3)}}
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


def _limiter_storage_options(env: Mapping[str, str]) -> dict[str, float]:
    if not env.get("REDIS_URL"):
        return {}
    timeout = float(env.get("RATELIMIT_STORAGE_TIMEOUT") or 0.2)
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


def from_env(env: Mapping[str, str], instance: Path) -> dict[str, Any]:
    """Build the Flask config mapping from an environment mapping."""
    base_url = env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    env_name = environment(env)
    uri = database_url(env.get("DATABASE_URL"), instance)
    return {
        "COACHAPP_ENV": env_name,
        "SECRET_KEY": _secret_key(env, instance),
        # Old keys, comma-separated: still accepted for sessions, unsubscribe and calendar links.
        "SECRET_KEY_FALLBACKS": [k.strip() for k in env.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()],
        "LOG_LEVEL": (env.get("LOG_LEVEL") or "INFO").upper(),
        "LOG_FORMAT": env.get("LOG_FORMAT") or ("json" if env_name == "production" else "text"),
        "SQLALCHEMY_DATABASE_URI": uri,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri, env, env_name == "production"),
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "Motive Training <coach@motive.example>"),
        "MAIL_REPLY_TO": env.get("MAIL_REPLY_TO") or None,
        "BUSINESS_NAME": env.get("BUSINESS_NAME", "Motive Training"),
        "BUSINESS_ADDRESS": env.get("BUSINESS_ADDRESS", "Austin, TX, USA"),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": base_url.split("://", 1)[0],
        "RULES_DIR": env.get("RULES_DIR") or str(data_path("rules")),
        # Who is told about new leads when no coach covers them; the forms' default time zone.
        "OWNER_EMAIL": env.get("OWNER_EMAIL") or None,
        "DEFAULT_TIME_ZONE": env.get("DEFAULT_TIME_ZONE", "America/Chicago"),
        "ABANDONED_RETENTION_DAYS": int(env.get("ABANDONED_RETENTION_DAYS", "30")),
        "OUTBOX_MAX_ATTEMPTS": int(env.get("OUTBOX_MAX_ATTEMPTS", "6")),
        **outbox_settings(env),
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
        # A hung Redis costs a request at most this long per limiter call (then: in-memory counts).
        "RATELIMIT_STORAGE_OPTIONS": _limiter_storage_options(env),
        # Refused (503) while the limiter's storage is unreachable, instead of counted in memory.
        "RATELIMIT_FAIL_CLOSED_ENDPOINTS": ("auth.login",),
        "RATELIMIT_SWALLOW_ERRORS": True,  # a Redis outage must not take the forms down
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        # Public forms sent back sooner than this after they were shown are a bot's (time trap).
        "FORM_MIN_SECONDS": float(env.get("FORM_MIN_SECONDS", "2")),
        # Booking webhooks (coachapp/webhooks): unset → that endpoint answers 503.
        "CALCOM_WEBHOOK_SECRET": env.get("CALCOM_WEBHOOK_SECRET") or None,
        "CALENDLY_WEBHOOK_SIGNING_KEY": env.get("CALENDLY_WEBHOOK_SIGNING_KEY") or None,
        # Seconds: the oldest Cal.com createdAt accepted; Calendly's signature timestamp, either way.
        "CALCOM_WEBHOOK_MAX_AGE": float(env.get("CALCOM_WEBHOOK_MAX_AGE") or 3600),
        "CALENDLY_WEBHOOK_TOLERANCE": float(env.get("CALENDLY_WEBHOOK_TOLERANCE") or 180),
        # Signed webhooks out (coachapp/webhooks_out): timeouts per attempt, the claim, and whether
        # an endpoint may resolve to a loopback/private address (tests; a receiver on the same host)
        "WEBHOOKS_ALLOW_PRIVATE": _bool(env.get("WEBHOOKS_ALLOW_PRIVATE")),
        "WEBHOOKS_CONNECT_TIMEOUT": float(env.get("WEBHOOKS_CONNECT_TIMEOUT") or 5),
        "WEBHOOKS_READ_TIMEOUT": float(env.get("WEBHOOKS_READ_TIMEOUT") or 10),
        "WEBHOOKS_DEADLINE": float(env.get("WEBHOOKS_DEADLINE") or 30),
        "WEBHOOKS_CLAIM_LEASE": float(env.get("WEBHOOKS_CLAIM_LEASE") or 60),
        "WEBHOOKS_ENDPOINTS_TTL": float(env.get("WEBHOOKS_ENDPOINTS_TTL") or 30),
        # Seconds between two looks at which rules version is live (coachapp/rules_store.py): a
        # publish or rollback reaches every other process within this; the publishing one at once.
        "RULES_LIVE_TTL": float(env.get("RULES_LIVE_TTL") or "5"),
        # Sites that may frame the assessment and the strategy session (coachapp/embedding.py).
        "EMBED_ORIGINS": parse_origins(env.get("EMBED_ORIGINS")),
        "CELERY": celery_settings(env, instance),
    }


def apply_embedding(config: dict[str, Any]) -> None:
    """Normalise ``EMBED_ORIGINS`` (refusing a bad one) once every override is in, and give the
    session cookie ``SameSite=None; Secure; Partitioned`` when embedding is on over https."""
    config["EMBED_ORIGINS"] = parse_origins(config.get("EMBED_ORIGINS"))
    config.update(session_cookie(config["EMBED_ORIGINS"], config.get("BASE_URL") or ""))
