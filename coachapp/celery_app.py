"""Celery bound to the Flask app (tasks run inside an app context)."""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
from flask import Flask


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
