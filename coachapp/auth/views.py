"""Sign in (slowed per account and address, rate-limited per address) and sign out (ends the session)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from coachapp.auth import bp, throttle
from coachapp.auth.forms import LoginForm
from coachapp.auth.passwords import hash_password, needs_rehash, verify_password
from coachapp.extensions import db, limiter, login_manager
from coachapp.models import Coach, utcnow

#: Failed attempts only (a successful sign-in is not counted). Per account, failures are slowed
#: down instead (``throttle``): a lockout would let anyone who knows a coach's email lock them out.
ADDRESS_LIMIT = "20 per 15 minutes"


def _failed(response: Response) -> bool:
    return response.status_code != 302


login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see the dashboard."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> Coach | None:
    """The id carries the coach's session token: rotating the token ends the session."""
    coach_id, _, token = user_id.partition(":")
    if not (coach_id.isascii() and coach_id.isdigit() and len(coach_id) <= 9) or not token:
        return None
    coach = db.session.get(Coach, int(coach_id))
    if coach is None or not coach.active or not secrets.compare_digest(coach.session_token, token):
        return None
    return coach


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an absolute URL, a scheme-relative //host or a backslash trick."""
    default = url_for("dashboard.today")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=_failed)
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        slowed = throttle.enabled()
        key = throttle.key_for(email, request.remote_addr)
        wait = throttle.throttle().wait_seconds(key, throttle.now()) if slowed else 0
        if wait:  # whatever the password: it is not even checked until the wait is over
            message = f"Too many failed attempts. Please try again in {wait} second{'s' if wait != 1 else ''}."
            return render_template("auth/login.html", form=form, limited=message), 429, {"Retry-After": str(wait)}
        coach = db.session.execute(select(Coach).where(Coach.email == email)).scalar_one_or_none()
        stored = coach.password_hash if coach is not None and coach.active else None
        if verify_password(stored, form.password.data):  # an unknown email costs the same time
            if slowed:
                throttle.throttle().succeeded(key)
            if needs_rehash(coach.password_hash):
                coach.password_hash = hash_password(form.password.data)
            coach.last_login_at = utcnow()
            db.session.commit()
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(coach)
            return redirect(safe_next(request.args.get("next")))
        if slowed:
            throttle.throttle().failed(key, throttle.now())
        form.password.errors.append("That email and password don't match an active coach account.")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out everywhere: the coach's session token changes, so old cookies stop working."""
    coach = db.session.get(Coach, current_user.id)
    coach.session_token = secrets.token_urlsafe(32)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
