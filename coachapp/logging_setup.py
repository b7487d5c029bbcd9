"""Logs: one line per event, JSON in production and readable text in development.

Every line carries the request id (``X-Request-ID`` from the proxy when it looks sane, else a
new one; echoed in the response) or, in the worker, the Celery task id. Nothing personal gets
in: a request is logged by its route (``/assessment/<token>``), never its path or query
string; email addresses in messages and tracebacks are masked; no client address is logged.
``flask`` commands stay quiet (alembic's INFO chatter is off).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, has_request_context, request
from werkzeug.wrappers import Response

REQUEST_ID_HEADER = "X-Request-ID"
_ENVIRON_KEY = "coachapp.request_id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
#: Loggers that talk too much at INFO for a one-line-per-event log.
QUIET = ("alembic", "alembic.runtime.plugins", "alembic.runtime.migration")
#: Health probes hit every few seconds: their successes are not events.
SILENT_ENDPOINTS = ("health.healthz", "health.readyz")

logger = logging.getLogger("coachapp.request")


def redact(text: str) -> str:
    return _EMAIL.sub("<email>", text)


def request_id() -> str | None:
    """This request's id (taken from the header or made once), or None outside a request."""
    if not has_request_context():
        return None
    environ = request.environ
    if _ENVIRON_KEY not in environ:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        environ[_ENVIRON_KEY] = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return environ[_ENVIRON_KEY]


def _task_id() -> str | None:
    if "celery" not in sys.modules:  # gunicorn's master never imports Celery for a log line
        return None
    from celery import current_task

    return getattr(getattr(current_task, "request", None), "id", None) if current_task else None


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``task_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        record.task_id = _task_id()
        return True


class DropDevServerAccessLines(logging.Filter):
    """The development server's own access line repeats the path and query string (tokens);
    ``coachapp.request`` logs each request instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "werkzeug" or " - - [" not in str(record.msg)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id/task_id, event fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "task_id"):
            if getattr(record, key, None):
                entry[key] = getattr(record, key)
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)  # ASCII-escaped: one line, whatever the message holds


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"req={record.request_id}" if getattr(record, "request_id", None) else "",
               f"task={record.task_id}" if getattr(record, "task_id", None) else ""]
        record.context = "".join(f" [{i}]" for i in ids if i)
        return redact(super().format(record))


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Install (or re-format) coachapp's handler on the root logger; idempotent."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "coachapp", False)), None)
    if handler is None:
        # The process's real stderr: the Celery worker replaces sys.stderr with a proxy that
        # logs what is written to it, which would loop back here.
        handler = logging.StreamHandler(sys.__stderr__ or sys.stderr)
        handler.coachapp = True  # type: ignore[attr-defined]
        handler.addFilter(ContextFilter())
        handler.addFilter(DropDevServerAccessLines())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(level)


def init_app(app: Flask) -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not app.testing:  # under pytest, pytest captures the records
        configure(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "text"))
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    request.environ["coachapp.started"] = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id() or ""
    if request.endpoint in SILENT_ENDPOINTS and response.status_code < 400:
        return response
    started = request.environ.get("coachapp.started")
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    fields: dict[str, Any] = {"event": "request", "method": request.method, "route": route,
                              "status": response.status_code}
    if started is not None:
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("%s %s %s", request.method, route, response.status_code, extra={"fields": fields})
    return response


def gunicorn_logconfig(fmt: str, level: str = "INFO", access: bool = False) -> dict[str, Any]:
    """``logconfig_dict`` for gunicorn: its own lines in the same one-line format. Its access log
    stays off unless asked for (``access``): ``coachapp.request`` already logs every request,
    by route, where gunicorn could only log the path (which holds tokens)."""
    formatter = "coachapp.logging_setup.JsonFormatter" if fmt == "json" else "coachapp.logging_setup.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": []},  # create_app installs coachapp's handler
        "formatters": {"coachapp": {"()": formatter}},
        "filters": {"context": {"()": "coachapp.logging_setup.ContextFilter"}},
        "handlers": {
            "error_console": {"class": "logging.StreamHandler", "formatter": "coachapp", "filters": ["context"],
                              "stream": "ext://sys.stderr"},
            "console": {"class": "logging.StreamHandler", "formatter": "coachapp", "filters": ["context"],
                        "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["error_console"], "propagate": False,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "INFO" if access else "WARNING", "handlers": ["console"],
                                "propagate": False, "qualname": "gunicorn.access"},
        },
    }
