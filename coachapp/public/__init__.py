"""Public blueprint: what prospects see (no login)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from coachapp.public import (  # noqa: E402,F401
    calendar,
    embed,
    retake,
    sessions,
    strategy,
    templating,
    tracking,
    unsubscribe,
    views,
    visits,
)
