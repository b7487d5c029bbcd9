"""Coaches who can sign in, and a signed-in client."""

from __future__ import annotations

from typing import Any

from tests.conftest import Browserish
from tests.helpers_strategy import make_coach

PASSWORD = "Correct-Horse-42-battery"


def coach_with_password(db, password: str = PASSWORD, **overrides: Any):
    from coachapp.auth.passwords import hash_password

    return make_coach(db, password_hash=hash_password(password), **overrides)


def sign_in(app, coach, password: str = PASSWORD) -> Browserish:
    web = Browserish(app.test_client())
    web.get("/auth/login")
    response = web.post("/auth/login", {"email": coach.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return web
