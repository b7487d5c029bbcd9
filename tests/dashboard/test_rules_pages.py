"""The owner's Rules pages (issue 15): a version's change reaches the live site only once
published and leaves it on rollback — through the pages, checked on the runner's screen; an
invalid draft cannot be published and says why; the compare view; coaches get 403; CSRF; the
lead page says which rules version scored the result and rendered each email."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import OutboxMessage, RulesAudit, RulesVersion, utcnow
from coachapp.rules_versions import services
from tests.conftest import Browserish
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_rules_versions import (  # noqa: F401  (versions_cleared: a fixture)
    LABEL_FILE,
    NEW_LABEL,
    OLD_LABEL,
    edited_copy,
    import_draft,
    versions_cleared,
)

pytestmark = pytest.mark.usefixtures("versions_cleared")


def first_screen(app) -> str:
    """What a new runner sees on the assessment's first question screen."""
    runner = Browserish(app.test_client())
    runner.get("/assessment")
    response = runner.post("/assessment/start")
    assert response.status_code == 302
    page = runner.get(response.headers["Location"])
    assert page.status_code == 200
    return html.unescape(page.get_data(as_text=True))


def test_a_published_change_is_live_and_a_rollback_takes_it_back(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True, name="Brian Owner", email="brian@motive.example")
    web = sign_in(db_app, owner)
    draft = import_draft(edited_copy(tmp_path), note="Friendlier age question")
    assert OLD_LABEL in first_screen(db_app) and NEW_LABEL not in first_screen(db_app)  # a draft is not live

    listing = web.get("/dashboard/rules").get_data(as_text=True)
    assert "The shipped rules files" in listing and "v1" in listing and "draft" in listing
    assert "Friendlier age question" in listing and 'href="/dashboard/rules"' in listing  # in the nav
    page = html.unescape(web.get("/dashboard/rules/1").get_data(as_text=True))
    assert LABEL_FILE in page and NEW_LABEL in page and 'href="/dashboard/rules/1/publish"' in page
    confirm = html.unescape(web.get("/dashboard/rules/1/publish").get_data(as_text=True))
    assert "Publish rules v1?" in confirm and "replaces the shipped rules files" in confirm
    assert f"{LABEL_FILE}</code> (+1 −1)" in confirm
    assert OLD_LABEL in first_screen(db_app)  # looking at the confirmation changes nothing

    response = web.post("/dashboard/rules/1/publish", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/rules")
    listing = web.get("/dashboard/rules").get_data(as_text=True)
    assert "v1 is live" in listing and "Roll back to the shipped files" in listing
    assert NEW_LABEL in first_screen(db_app) and OLD_LABEL not in first_screen(db_app)

    token = web.last_token
    response = web.post("/dashboard/rules/rollback", {"expected_live": str(draft.id)})
    assert response.status_code == 302
    listing = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rolled back from v1: the shipped rules files are live." in listing
    assert OLD_LABEL in first_screen(db_app) and NEW_LABEL not in first_screen(db_app)
    # a second click on the same (stale) page rolls back nothing more
    web._fresh_request()
    stale = web.client.post("/dashboard/rules/rollback", data={"csrf_token": token, "expected_live": str(draft.id)})
    assert stale.status_code == 302
    after = web.get("/dashboard/rules").get_data(as_text=True)
    assert "Nothing to roll back" in after, after[after.index("<main"):][:600]

    audit = db.session.execute(select(RulesAudit.action, RulesAudit.actor).order_by(RulesAudit.id)).all()
    assert [a for a, _ in audit] == ["import", "publish", "rollback"]
    assert audit[1].actor == audit[2].actor == "Brian Owner <brian@motive.example>"
    listing = web.get("/dashboard/rules").get_data(as_text=True)
    assert "rollback" in listing and "v1 → files" in listing and "Brian Owner" in listing


def test_rollback_goes_back_to_the_version_live_before(db_app, tmp_path):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    import_draft(edited_copy(tmp_path))
    second = import_draft(edited_copy(tmp_path, new="Your age?", name="second"))
    for number in (1, 2):
        web.get(f"/dashboard/rules/{number}/publish")
        assert web.post(f"/dashboard/rules/{number}/publish", {}).status_code == 302
    assert "Your age?" in first_screen(db_app)
    listing = web.get("/dashboard/rules").get_data(as_text=True)
    assert "Roll back to v1" in listing
    web.post("/dashboard/rules/rollback", {"expected_live": str(second.id)})
    assert NEW_LABEL in first_screen(db_app)


def test_an_invalid_draft_cannot_be_published_and_says_why(db_app, tmp_path):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    draft = import_draft(edited_copy(tmp_path))
    texts = {**draft.files, LABEL_FILE: draft.files[LABEL_FILE].replace(
        "id: desk_hours", "id: desk_hours\n        colour: blue", 1)}
    services.update_draft(draft, services.Actor(None, "editor"), utcnow(), files=texts, check=False)
    db.session.commit()
    page = html.unescape(web.get("/dashboard/rules/1").get_data(as_text=True))
    assert "this draft cannot be published" in page and "colour" in page
    assert 'href="/dashboard/rules/1/publish"' not in page
    response = web.post("/dashboard/rules/1/publish", {})
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "v1 cannot be published" in text and f"{LABEL_FILE}: question 'desk_hours'" in text and "colour" in text
    db.session.expire_all()
    assert db.session.get(RulesVersion, draft.id).status == "draft" and services.live_version() is None
    assert OLD_LABEL in first_screen(db_app)


def test_compare_shows_the_diff_of_any_two_versions(db_app, tmp_path):
    web = sign_in(db_app, coach_with_password(db, is_owner=True))
    import_draft(edited_copy(tmp_path))
    import_draft(edited_copy(tmp_path, old="Under 18", new="Younger than 18", name="second"))
    page = html.unescape(web.get("/dashboard/rules/compare?a=files&b=1").get_data(as_text=True))
    assert "From <strong>shipped files</strong> to <strong>v1</strong>: 1 file changed." in page
    assert f'<del>-        text: "{OLD_LABEL}"</del>' in page and f'<ins>+        text: "{NEW_LABEL}"</ins>' in page
    page = html.unescape(web.get("/dashboard/rules/compare?a=1&b=2").get_data(as_text=True))
    assert "Younger than 18" in page and f'<del>-        text: "{NEW_LABEL}"</del>' in page
    assert "have the same files" in web.get("/dashboard/rules/compare?a=2&b=2").get_data(as_text=True)
    missing = web.get("/dashboard/rules/compare?a=1&b=nine")
    assert missing.status_code == 404 and "No rules version" in missing.get_data(as_text=True)
    assert web.get("/dashboard/rules/7").status_code == 404


def test_coaches_get_403_and_every_form_needs_its_token(db_app, tmp_path):
    import_draft(edited_copy(tmp_path))
    coach = coach_with_password(db, email="coach@motive.example")
    web = sign_in(db_app, coach)
    assert 'href="/dashboard/rules"' not in web.get("/dashboard/").get_data(as_text=True)
    for url in ("/dashboard/rules", "/dashboard/rules/1", "/dashboard/rules/1/publish", "/dashboard/rules/compare"):
        assert web.get(url).status_code == 403, url
    assert web.post("/dashboard/rules/1/publish", {}).status_code == 403
    assert web.post("/dashboard/rules/rollback", {}).status_code == 403
    owner = sign_in(db_app, coach_with_password(db, is_owner=True, email="owner@motive.example"))
    owner.get("/dashboard/rules/1/publish")
    assert owner.client.post("/dashboard/rules/1/publish", data={}).status_code == 400  # no CSRF token
    assert owner.client.post("/dashboard/rules/rollback", data={}).status_code == 400
    assert services.live_version() is None


def test_the_lead_page_says_which_rules_version_scored_and_emailed(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True)
    web = sign_in(db_app, owner)
    before = complete_assessment(DESK_ACHILLES, "first@example.com")
    page = web.get(f"/dashboard/leads/{before.id}").get_data(as_text=True)
    assert "Scored with the shipped rules files (" in page and "from the shipped rules files (" in page

    draft = import_draft(edited_copy(tmp_path))
    services.publish(draft.id, services.Actor.coach(owner), utcnow())
    db.session.commit()
    after = complete_assessment(DESK_ACHILLES, "second@example.com")
    page = web.get(f"/dashboard/leads/{after.id}").get_data(as_text=True)
    short = draft.content_hash.removeprefix("sha256:")[:8]
    link = f'<a href="/dashboard/rules/1">rules v1 ({short})</a>'
    assert f"Scored with {link}" in page and f"from {link}" in page
    email = db.session.execute(select(OutboxMessage).where(OutboxMessage.lead_id == after.id)).scalars().first()
    assert email.rules_version == draft.content_hash
    assert f'<dd id="rules-used">{link}</dd>' in web.get(f"/dashboard/outbox/{email.id}").get_data(as_text=True)
    coach = sign_in(db_app, coach_with_password(db, email="coach@motive.example"))
    after.owner_id = None
    db.session.commit()
    page = coach.get(f"/dashboard/leads/{after.id}").get_data(as_text=True)
    assert f"Scored with rules v1 ({short})" in page and '/dashboard/rules/1"' not in page  # no link for a coach
