"""Celery bound to the Flask app (tasks run inside an app context)."""

from __future__ import annotations

import logging
from pathlib import Path

from celery import Celery, Task
from flask import Flask

logger = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = app.config["CELERY"]
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(settings)
    if settings["broker_url"] == "filesystem://":
        options = settings["broker_transport_options"]
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    celery.set_default()
    app.extensions["celery"] = celery
    import coachapp.tasks  # noqa: F401  (registers the shared tasks)

    return celery


def send_now(task_name: str, *args: object) -> bool:
    """Hand one job to the worker from a request, bounded like the outbox's publish (the broker's
    connect and socket timeouts at ``OUTBOX_PUBLISH_TIMEOUT``, no retries): True when the broker
    took it. A broker that is down or hung costs the page at most that timeout; the caller marks
    its row failed and says so."""
    from flask import current_app

    celery = current_app.extensions["celery"]
    timeout = current_app.config["OUTBOX_PUBLISH_TIMEOUT"]
    fast = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
    try:
        with celery.connection_for_write(transport_options=fast) as connection:
            celery.send_task(task_name, args=args, connection=connection, retry=False)
    except Exception as exc:  # broker down or hung
        logger.warning("%s%r not published (%s)", task_name, args, type(exc).__name__)
        return False
    return True
