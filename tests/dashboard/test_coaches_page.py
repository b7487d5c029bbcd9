"""The owner manages coaches; coaches cannot."""

from __future__ import annotations

from sqlalchemy import select

from coachapp.auth.passwords import verify_password
from coachapp.extensions import db
from coachapp.models import Coach
from tests.helpers_dashboard import coach_with_password, sign_in

NEW = {"name": "Alex Kin", "email": "Alex@Motive.example", "time_zone": "America/Denver",
       "hours": "mon-thu 07:00-15:00", "services": ["kinstretch"], "online": "y", "password": "Welcome-to-motive-1"}


def test_owner_adds_a_coach_who_can_then_sign_in(db_app):
    owner = coach_with_password(db, is_owner=True)
    web = sign_in(db_app, owner)
    assert "Add a coach" in web.get("/dashboard/coaches").get_data(as_text=True)
    response = web.post("/dashboard/coaches", NEW)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    alex = db.session.execute(select(Coach).where(Coach.email == "alex@motive.example")).scalar_one()
    assert (alex.time_zone, alex.services) == ("America/Denver", ["kinstretch"])
    assert (alex.in_person, alex.online) == (False, True)
    assert alex.working_hours == {d: ["07:00-15:00"] for d in ("mon", "tue", "wed", "thu")}
    assert sign_in(db_app, alex, password=NEW["password"]).get("/dashboard/").status_code == 200


def test_bad_coach_input_is_shown_next_to_the_field(db_app):
    owner = coach_with_password(db, is_owner=True)
    web = sign_in(db_app, owner)
    web.get("/dashboard/coaches")
    response = web.post("/dashboard/coaches", {**NEW, "hours": "someday", "password": "short"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "days are mon" in html and 'value="Alex Kin"' in html
    response = web.post("/dashboard/coaches", {**NEW, "email": owner.email})
    assert "already exists" in response.get_data(as_text=True)
    response = web.post("/dashboard/coaches", {**NEW, "password": "short"})
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert db.session.execute(select(Coach).where(Coach.email == "alex@motive.example")).first() is None


def test_deactivating_signs_the_coach_out_and_owner_cannot_lock_themselves_out(db_app):
    owner = coach_with_password(db, is_owner=True, email="brian@motive.example")
    sam = coach_with_password(db)
    sam_web = sign_in(db_app, sam)
    web = sign_in(db_app, owner)
    web.get("/dashboard/coaches")
    web.post(f"/dashboard/coaches/{sam.id}/active", {"active": "0"})
    assert sam_web.get("/dashboard/").status_code == 302  # signed out
    page = web.post(f"/dashboard/coaches/{owner.id}/active", {"active": "0"}, follow_redirects=True)
    assert "can&#39;t deactivate yourself" in page.get_data(as_text=True)
    web.post(f"/dashboard/coaches/{sam.id}/active", {"active": "1"})
    web.post(f"/dashboard/coaches/{sam.id}/password", {"password": "Brand-new-pass-77"})
    db.session.refresh(sam)
    assert sam.active and verify_password(sam.password_hash, "Brand-new-pass-77")


def test_coaches_cannot_manage_coaches(db_app):
    sam = coach_with_password(db)
    web = sign_in(db_app, sam)
    assert web.get("/dashboard/coaches").status_code == 403
    web.get("/dashboard/")  # a page with a CSRF token: the refusal is about the role, not CSRF
    assert web.post(f"/dashboard/coaches/{sam.id}/password", {"password": "Brand-new-pass-77"}).status_code == 403
    assert "Coaches</a>" not in web.get("/dashboard/").get_data(as_text=True)
