"""Blueprint ``auth``: coaches sign in and out."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from coachapp.auth import views  # noqa: E402,F401
