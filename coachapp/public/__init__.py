"""Public blueprint: what prospects see (no login)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from coachapp.public import calendar, sessions, strategy, templating, tracking, unsubscribe, views, visits  # noqa: E402,F401
