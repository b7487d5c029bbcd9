"""Issue 8, point 4: a red flag reaches a human the same day, and the coach sees what was skipped."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import CoachTask, Lead, OutboxMessage
from tests.helpers import CHEST_PAIN, CORE, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in

# A Tuesday, 10:00 in Chicago: inside the coach's working hours.
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/Chicago"))


def _assess(answers, email: str, now: datetime) -> Lead:
    return complete_assessment(answers, email, now, first_name="Rory")


def test_a_red_flag_gets_an_owner_a_same_day_task_and_an_email_to_the_coach(db_app) -> None:
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[],
                                is_owner=True)
    lead = _assess(CHEST_PAIN, "rory@example.com", TUESDAY_10)
    db.session.refresh(lead)
    assert lead.owner_id == owner.id and lead.priority_status == "clinician_first"
    assert lead.tier.endswith("1")  # needs a human today, never "C3"
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead.id)).scalar_one()
    assert task.title.startswith("Clinician-first call") and task.coach_id == owner.id
    due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=ZoneInfo("UTC"))
    assert due - TUESDAY_10 <= timedelta(hours=2)
    mails = {m.kind: m for m in db.session.execute(select(OutboxMessage)).scalars()}
    assert set(mails) == {"clinician_first", "coach_notification"}
    coach_mail = mails["coach_notification"]
    assert coach_mail.to_address == "brian@motive.example"
    assert coach_mail.subject.startswith("Clinician-first: Rory")
    assert "Chest pain" in coach_mail.text_body and "/dashboard/leads/" in coach_mail.text_body
    runner = mails["clinician_first"]
    assert "Brian will contact you personally" in " ".join(runner.text_body.split())


def test_the_coach_sees_a_skipped_safety_answer_on_the_lead_page(db_app) -> None:
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[],
                                is_owner=True)
    answers = {k: v for k, v in CORE.items() if k != "sex"}
    answers["sf_periods"] = "prefer_not_to_say"
    lead = _assess(answers, "sky@example.com", TUESDAY_10)
    html = sign_in(db_app, owner).get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    assert "Skipped safety question" in html and "prefer not to say" in html
    assert "have your periods stopped" in html
