"""Each hostile input that once gave the signed-in dashboard a 500, as a plain test: the page
answers with a clear 4xx or the form's own message instead."""

from __future__ import annotations

import io

import pytest

from tests.helpers import CONTACT, DESK_ACHILLES
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.hostile.support import assert_nothing_invalid_stored

HUGE = "99999999999999999999"  # past PostgreSQL's INTEGER (and BIGINT): "integer out of range"


@pytest.fixture
def owner(fuzz_app):
    from coachapp.extensions import db
    from coachapp.models import Coach

    with fuzz_app.app_context():
        coach_with_password(db, email="olive.owner@motive.example", name="Olive Owner", is_owner=True)
    response = fuzz_app.test_client().post("/api/v1/assessments", json={"answers": DESK_ACHILLES,
                                                                        "contact": CONTACT})
    assert response.status_code == 201, response.get_json()  # a lead (#1) with its first-contact task
    with fuzz_app.app_context():
        return sign_in(fuzz_app, db.session.query(Coach).filter_by(is_owner=True).one()).client


def _task_id(app) -> int:
    """An open task on lead #1, the owner's."""
    from datetime import timedelta

    from coachapp.extensions import db
    from coachapp.models import Coach, CoachTask, utcnow

    with app.app_context():
        owner = db.session.query(Coach).filter_by(is_owner=True).one()
        task = CoachTask(lead_id=1, coach_id=owner.id, kind="first_contact", title="Call Dana",
                         due_at=utcnow() + timedelta(hours=1))
        db.session.add(task)
        db.session.commit()
        return task.id


@pytest.mark.parametrize("path", [f"/dashboard/leads/{HUGE}", f"/dashboard/coaches/{HUGE}/active",
                                  f"/dashboard/rules/{HUGE}", f"/dashboard/rules/replays/{HUGE}",
                                  f"/dashboard/leads/1/merge/{HUGE}", "/dashboard/outbox/2147483648"])
def test_an_id_past_any_stored_one_is_not_found(owner, path):
    assert owner.get(path).status_code in (404, 405)
    assert owner.post(path).status_code in (404, 405)


def test_assigning_to_a_coach_id_that_cannot_exist_says_so(owner):
    for raw in (HUGE, "²", "-1", "abc"):
        response = owner.post("/dashboard/leads/1/assign", data={"coach_id": raw}, follow_redirects=True)
        assert response.status_code == 200
        assert "Choose an active coach." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [f"a={HUGE}&b=1", f"a=1&b={HUGE}", "a=v²", f"a=v{HUGE}"])
def test_comparing_a_version_number_that_cannot_exist_is_not_found(owner, query):
    response = owner.get(f"/dashboard/rules/compare?{query}")
    assert response.status_code == 404
    assert "No rules version" in response.get_data(as_text=True)


def test_snoozing_with_a_digit_that_is_not_ascii_says_how_long(fuzz_app, owner):
    response = owner.post(f"/dashboard/tasks/{_task_id(fuzz_app)}/snooze", data={"minutes": "²"},
                          follow_redirects=True)
    assert response.status_code == 200
    assert "Snooze for 1 hour, 3 hours or 1 day." in response.get_data(as_text=True)


@pytest.mark.parametrize("due", ["9999-12-31T23:59", "0001-01-01T00:00"])
def test_rescheduling_to_the_ends_of_the_calendar_asks_for_a_time_within_the_year(fuzz_app, owner, due):
    response = owner.post(f"/dashboard/tasks/{_task_id(fuzz_app)}/reschedule", data={"due": due},
                          follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Pick a time within the next year." in body or "Pick a time in the future." in body


@pytest.mark.parametrize("cursor", [f"1_{HUGE[:18]}", "1_2147483648"])
def test_a_page_link_naming_an_impossible_lead_is_refused_with_a_notice(owner, cursor):
    response = owner.get(f"/dashboard/leads?after={cursor}")
    assert response.status_code == 200
    assert "That page link is not valid" in response.get_data(as_text=True)


@pytest.mark.parametrize("sample", [f"submission:{HUGE}", "submission:²"])
def test_previewing_an_impossible_submission_falls_back_to_a_sample(owner, sample):
    assert owner.post("/dashboard/rules/edit/new").status_code == 302
    for page in ("preview", "whatif"):
        assert owner.get(f"/dashboard/rules/1/{page}", query_string={"sample": sample}).status_code < 500


@pytest.mark.parametrize("target", ["/dashboard/\r\nSet-Cookie: x=1", "/dashboard/\nx", "/dashboard/\tx"])
def test_a_return_address_with_a_line_break_goes_back_to_the_lead(owner, target):
    response = owner.post("/dashboard/leads/1/note", data={"text": "Called", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard/leads/1#timeline")


@pytest.mark.parametrize("n", ["²", "1" * 5000])
def test_a_replay_of_an_odd_number_of_submissions_says_what_it_takes(owner, n):
    assert owner.post("/dashboard/rules/edit/new").status_code == 302
    response = owner.post("/dashboard/rules/1/replay", data={"n": n})
    assert response.status_code == 422
    assert "How many submissions:" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/dashboard/leads/%00/note", "/assessment/%00"])
def test_a_refused_address_with_a_query_that_is_not_utf8_gets_its_error_page(owner, path):
    """The path's NUL is refused (400); the error page reads the query too, which must be clean."""
    response = owner.post(path, environ_overrides={"QUERY_STRING": "\x80=\xff&embed=1"})
    assert response.status_code == 400
    assert "not allowed" in response.get_data(as_text=True)


def test_an_uploaded_csv_is_stored_without_its_control_characters(fuzz_app, owner):
    """The file is kept for the mapping, preview and import: a C1 control (UTF-8 \\xc2\\x88) or a
    stray ^R in a header or a cell is removed; tab, CR and LF (CSV's own) stay."""
    from coachapp.extensions import db
    from coachapp.models import ImportJob

    raw = b'email,"first\x12 name\xc2\x88"\r\nann@example.com,"An\x12n\tB"\r\n'
    response = owner.post("/dashboard/imports", data={"file": (io.BytesIO(raw), "leads.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    with fuzz_app.app_context():
        job = db.session.query(ImportJob).one()
        assert job.header == ["email", "first name"]
        assert job.content == 'email,"first name"\r\nann@example.com,"Ann\tB"\r\n'
        assert job.mapping == {"0": "email", "1": "first_name"}
    assert_nothing_invalid_stored(fuzz_app)


def test_moving_a_question_past_the_one_whose_options_it_shares_is_refused(fuzz_app, owner):
    """hip_ir_picture_right's options are an alias of hip_ir_picture_left's (``*hip_ir_pictures``):
    swapping them would put the alias before its anchor, a file that no longer reads."""
    from coachapp.extensions import db
    from coachapp.models import RulesVersion
    from coachapp.rules_versions import edits

    assert owner.post("/dashboard/rules/edit/new").status_code == 302
    response = owner.post("/dashboard/rules/1/edit/questions", data={"move": "hip_ir_picture_left:down"})
    assert response.status_code == 422
    assert "shares its options with “hip_ir_picture_right”" in response.get_data(as_text=True)
    with fuzz_app.app_context():
        assert edits.fields(db.session.query(RulesVersion).filter_by(number=1).one().files, "questions")
    assert owner.get("/dashboard/rules/1/edit/questions").status_code == 200


def test_a_webhook_description_is_stored_as_one_clean_line(fuzz_app, owner):
    """The form keeps line breaks in a text field (free text may have them); an endpoint's
    description is one line in the list, so the service stores it without them (found by the
    forms fuzz at CI's example count)."""
    from coachapp.extensions import db
    from coachapp.models import WebhookEndpoint

    response = owner.post("/dashboard/webhooks", data={
        "url": "https://hooks.example.com/in", "events": ["lead.created"], "description": "Zap\r\nier\tnew\x85 leads"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with fuzz_app.app_context():
        assert db.session.query(WebhookEndpoint).one().description == "Zap ier new leads"
    assert_nothing_invalid_stored(fuzz_app)
