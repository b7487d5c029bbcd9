"""Error pages (HTML) and JSON errors for the API — never a bare 500 page."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

logger = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if _wants_json():
            return jsonify(error="csrf", message=error.description), 400
        return render_template("errors/csrf.html", error=error), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 429 and request.endpoint == "auth.login":
            from coachapp.auth.forms import LoginForm

            message = "Too many sign-in attempts. Please wait 15 minutes and try again."
            return render_template("auth/login.html", form=LoginForm(), limited=message), 429
        if _wants_json():
            body = {"error": getattr(error, "slug", None) or error.name.lower().replace(" ", "_"),
                    "message": error.description}
            if getattr(error, "errors", None):  # per-field messages (coachapp.hygiene)
                body["errors"] = error.errors
            return jsonify(body), error.code
        if error.code == 429:
            return render_template("errors/429.html"), 429
        template = "errors/404.html" if error.code == 404 else "errors/generic.html"
        return render_template(template, error=error), error.code

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed):
        """A 405 names the methods the URL does take (``Allow``, RFC 9110), as HTML or JSON."""
        response = app.make_response(http_error(error))
        if error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        from coachapp.extensions import db

        db.session.rollback()
        if _wants_json():
            return jsonify(error="internal_error", message="Something went wrong on our side."), 500
        return render_template("errors/500.html"), 500
