"""Coach sign-in: argon2, fresh sessions, safe redirects, real sign-out, rate limits."""

from __future__ import annotations

import pytest

from coachapp.auth.views import safe_next
from coachapp.extensions import db
from tests.conftest import Browserish
from tests.helpers_dashboard import PASSWORD, coach_with_password, sign_in


def _login(web, email: str, password: str, next_url: str = ""):
    url = "/auth/login" + (f"?next={next_url}" if next_url else "")
    web.get(url)
    return web.post(url, {"email": email, "password": password})


def test_dashboard_needs_a_signed_in_coach(web):
    response = web.get("/dashboard/")
    assert response.status_code == 302
    assert "/auth/login?next=/dashboard/" in response.headers["Location"]


def test_sign_in_uses_argon2_and_lands_on_today(web):
    coach = coach_with_password(db)
    assert coach.password_hash.startswith("$argon2id$")
    response = _login(web, "SAM@motive.example", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    page = web.get("/dashboard/")
    assert page.status_code == 200 and "<h1>Today</h1>" in page.get_data(as_text=True)
    assert coach.last_login_at is not None


def test_wrong_password_and_unknown_email_get_the_same_answer(web):
    coach_with_password(db)
    wrong = _login(web, "sam@motive.example", "nope-nope-nope")
    unknown = _login(web, "who@motive.example", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password don&#39;t match an active coach account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_inactive_coach_cannot_sign_in(web):
    coach_with_password(db, active=False)
    assert _login(web, "sam@motive.example", PASSWORD).status_code == 401


def test_session_is_renewed_at_sign_in(web):
    coach_with_password(db)
    web.get("/assessment?utm_source=before-login")  # puts first-touch data in the session
    with web.client.session_transaction() as before:
        assert "first_touch" in before
    _login(web, "sam@motive.example", PASSWORD)
    with web.client.session_transaction() as after:
        assert "first_touch" not in after and "_user_id" in after


@pytest.mark.parametrize("target, expected", [
    ("/dashboard/pipeline", "/dashboard/pipeline"),
    ("https://evil.example/x", "/dashboard/"),
    ("//evil.example/x", "/dashboard/"),
    ("/\\evil.example", "/dashboard/"),
    ("javascript:alert(1)", "/dashboard/"),
])
def test_next_only_redirects_within_the_site(db_app, target, expected):
    with db_app.test_request_context():
        assert safe_next(target) == expected


def test_sign_in_honours_a_safe_next(web):
    coach_with_password(db)
    response = _login(web, "sam@motive.example", PASSWORD, next_url="/dashboard/pipeline")
    assert response.headers["Location"].endswith("/dashboard/pipeline")


def test_sign_out_ends_the_session_even_for_a_copied_cookie(db_app):
    coach = coach_with_password(db)
    web = sign_in(db_app, coach)
    cookie = web.client.get_cookie("session").value
    web.get("/dashboard/")
    assert web.post("/auth/logout").status_code == 302
    thief = db_app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/dashboard/").status_code == 302  # back to the sign-in page


def test_sign_out_needs_csrf(db_app):
    coach = coach_with_password(db)
    web = sign_in(db_app, coach)
    assert web.client.post("/auth/logout").status_code == 400


def test_failed_sign_ins_slow_the_account_without_locking_out_the_right_password(rate_limited_app, monkeypatch):
    """Per account and address: a short, growing wait, not a 15-minute lockout (more in
    tests/web/test_sign_in_throttle.py)."""
    from coachapp.auth import throttle
    from tests.conftest import clean_tables

    now = [1000.0]
    monkeypatch.setattr(throttle, "now", lambda: now[0])
    clean_tables(rate_limited_app)
    with rate_limited_app.app_context():
        coach_with_password(db)
        web = Browserish(rate_limited_app.test_client())
        codes = []
        for _ in range(5):
            codes.append(_login(web, "sam@motive.example", "wrong-password!").status_code)
            now[0] += 60
        waiting = _login(web, "sam@motive.example", "wrong-password!")
        blocked = _login(web, "sam@motive.example", PASSWORD)  # within the wait: refused, whatever the password
        other = _login(web, "other@motive.example", "wrong-password!")  # another account is not slowed
        now[0] += 32
        signed_in = _login(web, "sam@motive.example", PASSWORD)  # the wait is over: the right password works
        db.session.remove()
    clean_tables(rate_limited_app)
    assert codes == [401] * 5 and waiting.status_code == 401
    assert blocked.status_code == 429
    assert "Please try again in 32 seconds." in blocked.get_data(as_text=True)
    assert other.status_code == 401
    assert signed_in.status_code == 302


def test_successful_sign_ins_do_not_count_against_the_limit(rate_limited_app):
    from tests.conftest import clean_tables

    clean_tables(rate_limited_app)
    with rate_limited_app.app_context():
        coach_with_password(db)
        web = Browserish(rate_limited_app.test_client())
        codes = []
        for _ in range(7):
            codes.append(_login(web, "sam@motive.example", PASSWORD).status_code)
            web.get("/dashboard/")  # a page with this session's CSRF token
            assert web.post("/auth/logout").status_code == 302
        db.session.remove()
    clean_tables(rate_limited_app)
    assert set(codes) == {302}


def test_failed_sign_ins_are_limited_per_address_across_accounts(rate_limited_app):
    from coachapp.auth.views import ADDRESS_LIMIT

    attempts = int(ADDRESS_LIMIT.split()[0])
    with rate_limited_app.app_context():
        web = Browserish(rate_limited_app.test_client())
        codes = [_login(web, f"guess{n}@motive.example", "wrong-password!").status_code for n in range(attempts)]
        blocked = _login(web, "another@motive.example", "wrong-password!")
        db.session.remove()
    assert codes == [401] * attempts
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.get_data(as_text=True)
