"""gunicorn settings, read from the environment at start (``gunicorn -c python:coachapp.gunicorn_conf``).

Shipped inside the package so an installed coachapp needs no checkout; the checkout's
``gunicorn.conf.py`` imports this, so a plain ``gunicorn coachapp.wsgi:app`` there uses it too.

Assumes a reverse proxy (nginx, Caddy) in front that terminates TLS and buffers slow clients:
the workers are synchronous, so one slow upload would otherwise hold a worker.
"""

from __future__ import annotations

import os

from coachapp.logging_setup import gunicorn_logconfig

_PRODUCTION = (os.environ.get("COACHAPP_ENV") or "").strip().lower() == "production"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def default_workers(cores: int | None = None) -> int:
    """2 × cores + 1 (gunicorn's advice for sync workers), at most 8: each worker holds up to
    15 PostgreSQL connections (SQLAlchemy's pool of 5 plus 10 overflow) and ~100 MB of memory, and
    PostgreSQL allows 100 connections by default — the worker and beat need some too."""
    cores = cores or os.cpu_count() or 1
    return min(2 * cores + 1, 8)


bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = _int("WEB_CONCURRENCY", default_workers())
worker_class = "sync"
# A request that takes longer than this is stuck: the worker is killed and replaced. Database
# statements are cancelled earlier (DATABASE_STATEMENT_TIMEOUT, 15 s), so a slow query ends in a
# clean error page, not a killed worker.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (deploy, systemctl stop, docker stop) requests in flight get this long to finish.
# Keep docker's stop_grace_period / systemd's TimeoutStopSec above it.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5  # behind a proxy on the same host or network
# Recycle workers now and then, so a slow leak never grows; the jitter keeps them from all
# restarting at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = 100
# X-Forwarded-Proto is believed only from these addresses (the proxy). 127.0.0.1 for a proxy on
# the same host; "*" only when nothing but the proxy can reach the port (compose publishes it
# on 127.0.0.1). The app's own PROXY_FIX_HOPS decides the client address for rate limits.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The worker heartbeat file on tmpfs: on a container's overlay filesystem it can stall a worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # nosec B108  # gunicorn's heartbeat, not app data
proc_name = "coachapp"

# Logs: one line per event, JSON in production (coachapp.logging_setup). Each request is logged by
# the app (route, status, duration, request id — no path, no query string, no client address),
# so gunicorn's access log is off unless GUNICORN_ACCESS_LOG=1; its format then also leaves out
# the query string (%(U)s is the path alone) and carries the request id.
errorlog = "-"
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "").lower() in {"1", "true", "yes", "on"} else None
access_log_format = '%(m)s %(U)s %(s)s %(B)s %(M)sms req=%({x-request-id}o)s'
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
logconfig_dict = gunicorn_logconfig(
    (os.environ.get("LOG_FORMAT") or ("json" if _PRODUCTION else "text")).lower(),
    loglevel.upper(),
    access=accesslog is not None,
)
# gunicorn's control socket (for gunicornc) is not used; its default path is per user, so a
# second gunicorn on the host would take it over.
control_socket_disable = True
