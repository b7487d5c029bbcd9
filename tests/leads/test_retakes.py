"""A retake through the service (issue 14.1): a second submission on the same lead, compared
with the first; real progress re-tiers the lead and gives the owner a "you improved" task —
only then; a red-flag retake is clinician first with no comparison. Every backend (PostgreSQL
is the one production runs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, CoachTask, Lead, LeadEvent, OutboxMessage, utcnow
from tests.helpers import CORE, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in

EMAIL = "retake.runner@example.com"
#: Three self-tests (a strong engagement signal), the ankle restricted.
FIRST = {**CORE, "ktw_left_cm": 7, "ktw_right_cm": 7.5, "heel_raise_left_reps": 20, "heel_raise_right_reps": 21,
         "balance_left_s": 30, "balance_right_s": 30}
IMPROVED = {**FIRST, "ktw_left_cm": 11, "ktw_right_cm": 11}  # +4 and +3.5 cm: beyond the 1.9 cm MDC
SAME = {**FIRST, "ktw_left_cm": 8, "ktw_right_cm": 8}  # +1 and +0.5 cm: within measurement error


def _submissions() -> list[AssessmentSubmission]:
    return list(db.session.execute(select(AssessmentSubmission).order_by(AssessmentSubmission.id)).scalars())


def _tasks(kind: str) -> list[CoachTask]:
    return list(db.session.execute(select(CoachTask).where(CoachTask.kind == kind)).scalars())


@pytest.fixture
def first(db_app):
    coach_with_password(db)
    lead = complete_assessment(FIRST, EMAIL, now=utcnow() - timedelta(days=42))
    return lead.id, lead.engagement_score, lead.tier


def test_a_retake_with_progress_is_a_second_submission_that_re_tiers_and_makes_a_task(first):
    lead_id, engagement_before, tier_before = first
    queries: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        queries.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        complete_assessment(IMPROVED, EMAIL.upper())
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Lead)).scalar_one() == 1
    older, newer = _submissions()
    assert older.lead_id == newer.lead_id == lead_id
    # the earlier attempts are read once
    assert sum("assessment_submissions.completed_at, assessment_submissions.answers" in q for q in queries) == 1

    progress = newer.result["progress"]
    ktw = next(t for t in progress["tests"] if t["id"] == "knee_to_wall")
    assert [s["verdict"] for s in ktw["sides"]] == ["improved", "improved"]
    assert progress["improved_tests"] == 1 and progress["previous_date"] == older.completed_at.date().isoformat()
    assert [p["region"] for p in progress["priorities"]["resolved"]] == ["ankle_dorsiflexion"]
    assert newer.result["plan"]["maintenance"] == ["ankle_dorsiflexion"]  # the plan steps it down
    assert "progress" not in older.result

    lead = db.session.get(Lead, lead_id)
    assert lead.engagement_score == engagement_before + 25
    assert "eng.retake_progress" in {r.get("rule_id") for r in lead.priority["reasons"]}
    assert (tier_before, lead.tier) == ("B2", "B1")  # re-tiered on the engagement axis
    [task] = _tasks("retake_progress")
    assert task.lead_id == lead_id and task.coach_id == lead.owner_id and task.status == "open"
    assert task.title.startswith("They improved") and "Knee-to-wall" in task.detail
    assert task.due_at > utcnow()
    kinds = [e.kind for e in db.session.execute(select(LeadEvent).where(LeadEvent.lead_id == lead_id)).scalars()]
    assert "retake" in kinds
    # the email carries the comparison
    email = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.purpose_key == f"assessment-result:{newer.id}")).scalar_one()
    assert "SINCE YOUR LAST ASSESSMENT ON" in email.text_body
    assert "Left: 7 cm → 11 cm, improved by 4 cm" in email.text_body
    assert "Since your last assessment on" in email.html_body


def test_a_retake_within_measurement_error_makes_no_task(first):
    lead_id, engagement_before, _ = first
    complete_assessment(SAME, EMAIL)
    db.session.expire_all()
    _, newer = _submissions()
    progress = newer.result["progress"]
    ktw = next(t for t in progress["tests"] if t["id"] == "knee_to_wall")
    assert [s["verdict"] for s in ktw["sides"]] == ["within_error", "within_error"]
    assert progress["improved_tests"] == 0
    assert _tasks("retake_progress") == []
    lead = db.session.get(Lead, lead_id)
    assert lead.engagement_score == engagement_before
    assert "eng.retake_progress" not in {r.get("rule_id") for r in lead.priority["reasons"]}
    email = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.purpose_key == f"assessment-result:{newer.id}")).scalar_one()
    assert "within measurement error" in email.text_body


def test_a_red_flag_retake_is_clinician_first_without_comparison(first):
    lead_id, _, _ = first
    complete_assessment({**IMPROVED, "sf_screen": ["exertion_chest"]}, EMAIL)
    db.session.expire_all()
    _, newer = _submissions()
    assert newer.result["safety"]["level"] == "red" and newer.result["plan"] is None
    assert "progress" not in newer.result
    assert _tasks("retake_progress") == []
    email = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.purpose_key == f"assessment-result:{newer.id}")).scalar_one()
    assert email.kind == "clinician_first" and "SINCE YOUR LAST" not in email.text_body.upper()


def test_one_progress_task_at_a_time(first):
    complete_assessment(IMPROVED, EMAIL, now=utcnow() - timedelta(days=1))
    complete_assessment({**IMPROVED, "ktw_left_cm": 14, "ktw_right_cm": 14}, EMAIL)
    assert len(_tasks("retake_progress")) == 1
    newest = _submissions()[-1]
    ktw = next(t for t in newest.result["progress"]["tests"] if t["id"] == "knee_to_wall")
    assert [p["left"] for p in ktw["history"]] == [7, 11, 14]  # the chart spans every attempt


def test_the_coach_sees_the_task_and_the_comparison(first, db_app):
    from coachapp.models import Coach

    lead_id, _, _ = first
    complete_assessment(IMPROVED, EMAIL)
    coach = db.session.execute(select(Coach)).scalar_one()
    web = sign_in(db_app, coach)
    page = web.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True)
    assert "They improved — congratulate them" in page  # the open task, with its actions
    assert "Since the last assessment on" in page and 'class="chart progress-chart"' in page
    assert "Left: 7 cm → 11 cm, improved by 4 cm" in page
    assert "Retake: improved beyond measurement error on Knee-to-wall (ankle bend)" in page  # the timeline
