"""coachapp: runner assessment, lead capture and follow-up for a coaching business."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from coachapp.config import apply_embedding, check_production, data_path, default_instance, from_env


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: config from the environment, then overrides."""
    instance = Path(os.environ.get("COACHAPP_INSTANCE") or default_instance())
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(data_path("templates")),
    )
    instance.mkdir(parents=True, exist_ok=True)
    from coachapp import hygiene

    hygiene.bounded_ids(app)  # <int:…> past any stored id: 404, on every route (before any is added)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    from flask import current_app

    app.jinja_env.globals["current_app"] = current_app  # templates check which endpoints exist
    app.config.from_mapping(from_env(os.environ, instance))
    if test_config:
        app.config.from_mapping(test_config)

    apply_embedding(app.config)  # EMBED_ORIGINS checked; SameSite=None over https when embedding
    check_production(app.config)  # COACHAPP_ENV=production: a real SECRET_KEY and an https BASE_URL
    from coachapp import logging_setup

    logging_setup.init_app(app)  # one line per event, with a request id; before the others' hooks
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    from coachapp import cli, errors, followups, webhooks_out

    errors.init_app(app)
    hygiene.init_app(app)  # control characters, bad JSON: refused or removed before any hook runs
    followups.wire()  # leads emit LeadChanged; the sequences follow (one direction)
    webhooks_out.wire()  # …and the owner's webhook endpoints get their deliveries queued
    cli.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    from coachapp import rules_store
    from coachapp.celery_app import celery_init_app
    from coachapp.extensions import csrf, db, limiter, login_manager, migrate
    from coachapp.rules_versions import email_copy

    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    migrate.init_app(app, db, directory=str(data_path("migrations")))
    csrf.init_app(app)
    celery_init_app(app)
    rules_store.init_app(app)
    email_copy.init_app(app)  # the owner's email copy: live look-up and the publish guard


def register_blueprints(app: Flask) -> None:
    from coachapp.api import bp as api_bp
    from coachapp.auth import bp as auth_bp
    from coachapp.dashboard import bp as dashboard_bp
    from coachapp.extensions import csrf
    from coachapp.health import bp as health_bp
    from coachapp.mailbox import bp as mailbox_bp
    from coachapp.public import bp as public_bp
    from coachapp.webhooks import bp as webhooks_bp

    app.register_blueprint(health_bp)  # /healthz, /readyz
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    csrf.exempt(api_bp)  # JSON API: no cookies, no ambient authority
    app.register_blueprint(api_bp)
    csrf.exempt(webhooks_bp)  # booking providers: no session; the HMAC signature is the authentication
    app.register_blueprint(webhooks_bp)
    if not app.config["SMTP_URL"] and not app.config["PROXY_FIX_HOPS"]:
        # Emails are captured, not sent: the signed-in owner reads them in the app (/outbox/).
        app.register_blueprint(mailbox_bp)


def register_hooks(app: Flask) -> None:
    from coachapp import security

    security.init_app(app)
