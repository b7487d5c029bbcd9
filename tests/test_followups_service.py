"""Follow-up sequences with the database: planning into rows, sending via the outbox,
every stop condition re-checked at send time, re-planning, unsubscribe, the per-recipient cap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.followups import services as followups
from coachapp.leads.triage import change_stage
from coachapp.models import Lead, LeadEvent, OutboxMessage, SequenceStep, utcnow
from coachapp.rules_store import get_rules
from tests.helpers import CHEST_PAIN, DESK_ACHILLES, complete_assessment


def _assess(answers=DESK_ACHILLES, email="dana@example.com", marketing=True, now=None) -> Lead:
    return complete_assessment(answers, email, now, marketing=marketing)


def _steps(lead: Lead, sequence: str = "assessment_nurture") -> dict[str, SequenceStep]:
    db.session.expire_all()
    rows = db.session.execute(select(SequenceStep).where(SequenceStep.lead_id == lead.id,
                                                         SequenceStep.sequence_id == sequence)).scalars()
    return {row.step_id: row for row in rows}


def _sweep_at(moment):
    return followups.sweep(get_rules(), moment)


def test_finishing_the_assessment_plans_the_nurture_in_the_leads_daytime(db_app):
    lead = _assess()
    steps = _steps(lead)
    assert set(steps) == {"drill_top_priority", "case_story", "strategy_invite", "retake_invite"}  # one priority
    assert all(s.status == "planned" for s in steps.values())
    assert steps["drill_top_priority"].due_at >= lead.created_at + timedelta(days=3)
    assert steps["retake_invite"].due_at >= lead.created_at + timedelta(weeks=6)
    kinds = db.session.execute(select(LeadEvent.summary).where(LeadEvent.kind == "sequence")).scalars().all()
    assert any("assessment_nurture" in k for k in kinds)


def test_a_due_step_is_sent_once_with_one_click_unsubscribe_headers(db_app):
    lead = _assess()
    due = _steps(lead)["drill_top_priority"].due_at
    assert _sweep_at(due - timedelta(minutes=1)) == {}
    assert _sweep_at(due) == {"queued": 1}
    assert _sweep_at(due + timedelta(minutes=5)) == {}
    message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.purpose_key == f"sequence:{lead.id}:assessment_nurture:"
                                    "drill_top_priority")).scalar_one()
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.headers["List-Unsubscribe"].startswith("<http://coach.test/unsubscribe/")
    assert "Austin, TX" in message.text_body and "Unsubscribe" in message.text_body
    assert "ankle dorsiflexion" in message.subject.lower()


STOPS = [
    ("unsubscribed_all_at", "Unsubscribed"),
    ("unsubscribed_sales_at", ""),
    ("replied_at", ""),
    ("bounced_at", ""),
    ("erased_at", ""),
]


@pytest.mark.parametrize("field, _", STOPS)
def test_stop_conditions_are_checked_at_send_time(db_app, field, _):
    lead = _assess()
    due = _steps(lead)["drill_top_priority"].due_at
    setattr(lead, field, utcnow())  # changed behind the planner's back: only the send-time check sees it
    db.session.commit()
    assert _sweep_at(due) == {"cancelled": 1}
    step = _steps(lead)["drill_top_priority"]
    assert step.status == "cancelled" and step.reason
    assert db.session.execute(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.kind.like("sequence:%"))).scalar_one() == 0


@pytest.mark.parametrize("field, value", [("stage", "session_booked"), ("stage", "client"), ("stage", "lost"),
                                          ("needs_clinician", True)])
def test_stage_and_red_flag_are_also_checked_at_send_time(db_app, field, value):
    lead = _assess()
    due = _steps(lead)["drill_top_priority"].due_at
    setattr(lead, field, value)  # no re-plan: only the send-time check can stop it
    db.session.commit()
    assert _sweep_at(due) == {"cancelled": 1}
    assert _steps(lead)["drill_top_priority"].reason


@pytest.mark.parametrize("stage", ["session_booked", "client", "lost"])
def test_stage_changes_stop_the_nurture_at_once_with_the_reason(db_app, stage):
    lead = _assess()
    change_stage(get_rules(), lead, stage, utcnow(), by="Sam")
    db.session.commit()
    steps = _steps(lead)
    assert {s.status for s in steps.values()} == {"cancelled"}
    reasons = db.session.execute(select(LeadEvent.summary).where(LeadEvent.kind == "sequence")).scalars().all()
    assert any("Cancelled 'assessment_nurture/drill_top_priority'" in r for r in reasons)


def test_red_flag_gets_no_sales_follow_ups(db_app):
    lead = _assess(CHEST_PAIN)
    assert _steps(lead) == {}  # no nurture for a red flag
    assert _steps(lead, "red_flag") == {}  # the assessment already sent the clinician email
    kinds = db.session.execute(select(OutboxMessage.kind)).scalars().all()
    assert sorted(kinds) == ["clinician_first", "coach_notification"]  # the coach is told too


def test_no_show_plans_one_kind_rebooking_email(db_app):
    lead = _assess()
    change_stage(get_rules(), lead, "session_booked", utcnow(), by="Sam")
    change_stage(get_rules(), lead, "no_show", utcnow(), by="Sam")
    db.session.commit()
    rebook = _steps(lead, "no_show")
    assert list(rebook) == ["rebook"] and rebook["rebook"].status == "planned"
    assert _sweep_at(rebook["rebook"].due_at) == {"queued": 1}


def test_unsubscribe_page_and_one_click(db_app):
    from coachapp.public.unsubscribe import unsubscribe_token

    lead = _assess()
    client = db_app.test_client()
    token = unsubscribe_token(lead.id)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Stop all emails" in page.get_data(as_text=True)
    assert client.get(f"/unsubscribe/{token}x").status_code == 404  # tampered
    response = client.post(f"/unsubscribe/{token}", data={"scope": "sales"})
    assert response.status_code == 200 and "no more tips" in response.get_data(as_text=True)
    db.session.refresh(lead)
    assert lead.unsubscribed_sales_at is not None and lead.unsubscribed_all_at is None
    assert {s.status for s in _steps(lead).values()} == {"cancelled"}  # effective immediately
    # RFC 8058: the mail client POSTs with no cookie, no CSRF token, no login.
    one_click = db_app.test_client().post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    db.session.refresh(lead)
    assert lead.unsubscribed_all_at is not None


def test_per_recipient_cap_stops_form_flooding(db_app, monkeypatch):
    monkeypatch.setitem(db_app.config, "RECIPIENT_DAILY_CAP", 3)
    for _ in range(5):
        _assess(email="victim@example.com", marketing=False)
    sent = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    assert sent == 3
    suppressed = db.session.execute(select(func.count()).where(LeadEvent.kind == "email_suppressed")).scalar_one()
    assert suppressed == 2


def test_paused_steps_wait_and_stopped_ones_are_cancelled(db_app):
    lead = _assess()
    rules = get_rules()
    due = _steps(lead)["drill_top_priority"].due_at
    followups.set_enrollment(rules, lead, "assessment_nurture", "paused", "Sam", utcnow())
    db.session.commit()
    assert _sweep_at(due + timedelta(days=1)) == {}  # paused: nothing is sent, nothing is lost
    assert _steps(lead)["drill_top_priority"].status == "planned"
    followups.set_enrollment(rules, lead, "assessment_nurture", "active", "Sam", due + timedelta(days=2))
    db.session.commit()
    assert _steps(lead)["drill_top_priority"].due_at >= due + timedelta(days=2)  # re-planned from "now"
    followups.set_enrollment(rules, lead, "assessment_nurture", "stopped", "Sam", utcnow())
    db.session.commit()
    assert {s.status for s in _steps(lead).values()} == {"cancelled"}
    with pytest.raises(ValueError):
        followups.set_enrollment(rules, lead, "assessment_nurture", "active", "Sam", utcnow())


def test_coach_reminders_stop_once_the_lead_is_contacted(db_app):
    from coachapp.leads.actions import complete_task
    from coachapp.leads.intake import StrategyIntake, submit
    from coachapp.models import CoachTask
    from tests.helpers_strategy import make_coach

    sam = make_coach(db)
    intake = StrategyIntake(first_name="Kim", email="kim@example.com", goals="Get strong.", running_history="1-2",
                            services=["mobility_coaching"], delivery="online", preferred_contact="email",
                            time_zone="America/Chicago", start_timing="asap")
    lead = submit(get_rules(), intake, {}, utcnow()).lead
    outbox.commit()
    reminders = _steps(lead, "strategy_requested")
    assert reminders and all(r.status == "planned" for r in reminders.values())
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead.id)).scalar_one()
    complete_task(task.id, sam, utcnow())
    db.session.commit()
    assert {r.status for r in _steps(lead, "strategy_requested").values()} == {"cancelled"}


def test_a_new_submission_re_plans_the_remaining_steps(db_app):
    first = utcnow() - timedelta(days=2)
    lead = _assess(now=first)
    before = _steps(lead)["drill_top_priority"].due_at
    retaken_at = utcnow()
    retake = _assess(now=retaken_at)  # the same runner takes it again two days later
    assert retake.id == lead.id
    steps = _steps(lead)
    # Re-timed from the new submission: 3 days after it (then into the window), later than before.
    assert steps["drill_top_priority"].due_at >= retaken_at + timedelta(days=3)
    assert steps["drill_top_priority"].due_at > before
    assert len(steps) == 4 and {s.status for s in steps.values()} == {"planned"}


def test_the_retake_invitation_carries_the_signed_retake_link(db_app):
    """Issue 14.1: six weeks on, the email's button opens this lead's retake page."""
    from coachapp.links import retake_lead_id

    lead = _assess()
    due = _steps(lead)["retake_invite"].due_at
    _sweep_at(due + timedelta(minutes=1))
    message = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.kind == "sequence:assessment_nurture", OutboxMessage.text_body.contains("/assessment/retake/"))
    ).scalars().first()
    assert message is not None
    signed = message.text_body.split("/assessment/retake/", 1)[1].split()[0]
    assert retake_lead_id(signed) == lead.id
    assert f"/assessment/retake/{signed}" in message.html_body
