"""The lead page reads like a story (issue 10, point 3): a header that says who, how hot, what
next and which emails they get; a timeline with one entry per email, plain labels, times in
the coach's zone, system detail behind a toggle; actions return to where they were."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from markupsafe import escape
from sqlalchemy import select

from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.leads.assessments import complete, save_step_all, start
from coachapp.leads.intake import StrategyIntake, submit
from coachapp.leads.services import Contact
from coachapp.models import CoachTask, Lead, LeadEvent, OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.helpers import DESK_ACHILLES
from tests.helpers_dashboard import coach_with_password, sign_in


def _dana(now: datetime):
    """A runner who took the assessment and then asked for a session, every email delivered."""
    coach = coach_with_password(db, name="Sam Mobility", email="sam@motive.example", services=["mobility_coaching"],
                                time_zone="America/Chicago")
    rules = get_rules()
    submission = start({}, now)
    save_step_all(rules, submission, DESK_ACHILLES, now)
    complete(rules, submission, Contact("Dana", "dana@example.com", True, True), now)
    lead = submit(rules, StrategyIntake(
        first_name="Dana", email="dana@example.com", phone="+1 512 555 0100", services=["mobility_coaching"],
        goals="Run pain-free.", running_history="2-5", delivery="online", preferred_contact="phone",
        time_zone="America/Chicago", start_timing="asap", consent_marketing=True), {}, now).lead
    db.session.commit()
    for message_id in db.session.execute(select(OutboxMessage.id)).scalars().all():
        assert outbox.deliver(message_id) in ("sent", "skipped")
    return coach, db.session.get(Lead, lead.id)


def _timeline(html: str) -> str:
    return html[html.index('<ol class="timeline">'):html.index("</ol>", html.index('<ol class="timeline">'))]


def test_the_header_says_who_how_hot_what_next_and_which_emails(db_app):
    coach, lead = _dana(utcnow())
    html = sign_in(db_app, coach).get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    head = html[html.index('id="summary"'):html.index('<div class="grid-2">')]
    words = get_rules().leads.tier_in_words(lead.tier)
    assert words and f"<strong>{lead.tier}:</strong> {words}." in head
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead.id)).scalar_one()
    assert f'href="#task-{task.id}"' in head and task.title in head
    assert 'href="tel:+15125550100"' in head and 'href="mailto:dana@example.com"' in head
    assert "Gets follow-up emails (opted in)." in head
    assert "Agreed to the use of their health answers" in head
    assert "Sam Mobility" in head and "new" in head


def test_email_status_is_said_in_words(db_app):
    coach, lead = _dana(utcnow())
    web = sign_in(db_app, coach)
    for field, words in (("unsubscribed_sales_at", "Unsubscribed from tips and sales emails"),
                         ("bounced_at", "Their address bounced"),
                         ("unsubscribed_all_at", "Unsubscribed from all emails.")):
        setattr(lead, field, utcnow())
        db.session.commit()
        head = web.get(f"/dashboard/leads/{lead.id}").get_data(as_text=True).split('<div class="grid-2">')[0]
        assert words in head and "no marketing" not in head


def test_the_timeline_shows_one_entry_per_email_in_plain_words(db_app):
    coach, lead = _dana(utcnow())
    html = sign_in(db_app, coach).get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    timeline = _timeline(html)
    emails = db.session.execute(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id)).scalars().all()
    assert len(emails) >= 2  # the plan and the session confirmation at least
    for message in emails:
        assert timeline.count(f'id="email-{message.id}"') == 1
        entry = timeline[timeline.index(f'id="email-{message.id}"'):]
        entry = entry[:entry.index("</li>")]
        assert str(escape(message.subject)) in entry and "queued" in entry and "sent" in entry  # queued → sent
        assert f'href="/dashboard/outbox/{message.id}"' in entry  # click to read the email as sent
    assert timeline.count('class="ev ev-email"') == len(emails)
    # No event says "Email queued: …" / "Email sent: …" on its own any more.
    assert "Email queued:" not in timeline and "Email sent:" not in timeline
    # Plain labels: sequence names from rules/, not ids; no ISO timestamps; no rules hash outside details.
    assert "assessment_nurture" not in timeline.replace("<dd>assessment_nurture</dd>", "")
    assert "“Tips after the assessment”" in timeline
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", re.sub(r'datetime="[^"]*"', "", timeline))
    visible = re.sub(r'<details class="sys">.*?</details>', "", html, flags=re.S)
    assert "sha256:" not in visible and "sha256:" in html  # the rules version is one click away
    assert "Tier none →" in timeline or "Tier " in timeline


def test_times_are_in_the_coachs_zone(db_app):
    now = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 09:30 in Chicago
    coach, lead = _dana(now)
    html = sign_in(db_app, coach).get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    timeline = re.sub(r'datetime="[^"]*"', "", _timeline(html))
    assert "Tue 24 Nov 09:30" in timeline and "15:30" not in timeline


def test_a_task_event_says_its_due_time_in_the_coachs_zone(db_app):
    coach, lead = _dana(datetime(2026, 11, 24, 15, 30, tzinfo=UTC))
    event = db.session.execute(select(LeadEvent).where(LeadEvent.lead_id == lead.id, LeadEvent.kind == "task")
                               ).scalars().first()
    assert "due" in event.data and "T" not in event.summary.split(":")[-1]
    html = sign_in(db_app, coach).get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    entry = _timeline(html).split(f'id="event-{event.id}"')[1].split("</li>")[0]
    assert re.search(r"— due \w{3} \d+ \w{3} \d\d:\d\d", entry)


def test_older_events_with_iso_times_and_ids_read_plainly(db_app):
    coach, lead = _dana(utcnow())
    db.session.add(LeadEvent(lead_id=lead.id, kind="sequence", created_at=utcnow(), data={},
                             summary="Cancelled 'assessment_nurture/retake_invite': Booked a strategy session."))
    db.session.add(LeadEvent(lead_id=lead.id, kind="task", created_at=utcnow(), data={},
                             summary="Try again 2026-11-25T15:00+00:00 (voicemail)"))
    db.session.commit()
    html = sign_in(db_app, coach).get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    timeline = _timeline(html)
    assert ("Cancelled “Tips after the assessment” — Invitation to retake the assessment and compare with their "
            "first result: Booked a strategy session.") in timeline
    assert "Try again Wed 25 Nov 09:00 (voicemail)" in timeline


def test_after_an_action_the_page_returns_to_it_with_the_note_visible(db_app):
    coach, lead = _dana(utcnow())
    web = sign_in(db_app, coach)
    web.get(f"/dashboard/leads/{lead.id}")
    response = web.post(f"/dashboard/leads/{lead.id}/note", {"text": "Left a voicemail, try Thursday."})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/dashboard/leads/{lead.id}#timeline")
    html = web.get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    first = _timeline(html).split("</li>")[0]  # newest first: right under the form
    assert "Left a voicemail, try Thursday." in first and "Note" in first
    response = web.post(f"/dashboard/leads/{lead.id}/stage", {"stage": "contacted"})
    assert response.headers["Location"].endswith("#actions")
    task = db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead.id)).scalars().first()
    task.status = "open"
    task.due_at = utcnow() + timedelta(hours=2)
    db.session.commit()
    response = web.post(f"/dashboard/tasks/{task.id}/snooze",
                        {"minutes": "60", "next": f"/dashboard/leads/{lead.id}#task-{task.id}"})
    assert response.headers["Location"].endswith(f"/dashboard/leads/{lead.id}#task-{task.id}")
    html = web.get(f"/dashboard/leads/{lead.id}").get_data(as_text=True)
    assert f'<input type="hidden" name="next" value="/dashboard/leads/{lead.id}#task-{task.id}">' in html
