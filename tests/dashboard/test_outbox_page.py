"""The outbox a coach can use (issue 10): every email opens, shows what was sent and why it failed,
can be filtered by kind, and is only visible to whoever may see its lead."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from coachapp.dashboard.outbox_views import BODY_CSP, KIND_LABELS
from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.leads.intake import StrategyIntake, submit
from coachapp.models import OutboxMessage, utcnow
from coachapp.rules_store import get_rules
from tests.helpers_dashboard import coach_with_password, sign_in


@pytest.fixture
def team(db_app):
    """The owner, Sam (Dana's coach) and Alex (Kim's coach); each lead has its emails; and one
    email to the team that belongs to no lead (a coach digest)."""
    owner = coach_with_password(db, name="Brian Owner", email="brian@motive.example", services=[], is_owner=True)
    sam = coach_with_password(db, name="Sam Mobility", email="sam@motive.example", services=["mobility_coaching"],
                              time_zone="Europe/London")
    alex = coach_with_password(db, name="Alex Kin", email="alex@motive.example", services=["kinstretch"])
    base = dict(goals="Run pain-free.", running_history="2-5", delivery="online", preferred_contact="email",
                time_zone="America/Chicago", start_timing="asap")
    now = utcnow()
    dana = submit(get_rules(), StrategyIntake(first_name="Dana", email="dana@example.com",
                                              services=["mobility_coaching"], **base), {}, now).lead
    kim = submit(get_rules(), StrategyIntake(first_name="Kim", email="kim@example.com", services=["kinstretch"],
                                             **base), {}, now).lead
    digest = outbox.queue_email(purpose_key="digest:test", kind="coach_digest", to=owner.email,
                                template="coach_digest", coach=owner, overdue=[], today=[], digest_hour="07:00",
                                new_leads=[{"name": "Dana", "tier": "", "url": "http://coach.test/x"}],
                                dashboard_url="http://coach.test/dashboard/")
    outbox.commit()
    assert (dana.owner_id, kim.owner_id) == (sam.id, alex.id)
    return {"owner": owner, "sam": sam, "alex": alex, "dana": dana, "kim": kim, "digest": digest}


def _mail(lead, kind: str = "strategy_confirmation") -> OutboxMessage:
    return db.session.execute(
        select(OutboxMessage).where(OutboxMessage.lead_id == lead.id, OutboxMessage.kind == kind)).scalar_one()


def _local(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def test_each_email_opens_with_its_html_text_headers_and_errors(db_app, team, monkeypatch):
    monkeypatch.setitem(db_app.config, "MAIL_REPLY_TO", "hello@motive.example")
    message = _mail(team["dana"])
    message.status, message.attempts, message.last_error = "failed", 6, "550 5.1.1 mailbox unavailable"
    message.headers = {"List-Unsubscribe": "<https://coach.test/unsubscribe/abc>"}
    message.sent_at = datetime(2026, 11, 23, 16, 5, tzinfo=UTC)
    db.session.commit()
    web = sign_in(db_app, team["sam"])
    listing = web.get("/dashboard/outbox").get_data(as_text=True)
    assert f'href="/dashboard/outbox/{message.id}"' in listing  # the subject opens it
    response = web.get(f"/dashboard/outbox/{message.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    text = unescape(html)
    for shown in (message.subject, "Strategy session confirmation", "failed", "550 5.1.1 mailbox unavailable",
                  "List-Unsubscribe", "<https://coach.test/unsubscribe/abc>", "Message-ID",
                  message.message_id.strip("<>"), message.purpose_key, "Reply-To", "hello@motive.example",
                  "From", "coach@motive.example", "To", "dana@example.com",
                  f"/dashboard/leads/{team['dana'].id}", "Resend",
                  _local(message.created_at, "Europe/London"), "Mon 23 Nov 16:05"):  # Sam's zone
        assert shown in text, shown
    assert f'<pre class="mail-text">{message.text_body}</pre>' in text
    assert "Email queued: " in html  # its history, from the lead's timeline
    # The HTML body is never inlined in the dashboard page; a sandboxed frame shows it.
    assert message.html_body not in html
    frame = re.search(r'<iframe[^>]*src="([^"]+)"', html)
    assert frame and 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame.group(0)
    body = web.get(frame.group(1))
    assert body.status_code == 200 and body.mimetype == "text/html"
    assert body.headers["Content-Security-Policy"] == BODY_CSP
    assert "default-src 'none'" in BODY_CSP and "sandbox" in BODY_CSP and "script" not in BODY_CSP
    assert body.headers["Cache-Control"] == "no-store" and body.headers["X-Frame-Options"] == "SAMEORIGIN"
    served = body.get_data(as_text=True)
    assert '<base target="_blank">' in served and served.replace('<base target="_blank">', "") == message.html_body
    assert served.lower().startswith("<!doctype html>")  # the base goes inside <head>: no quirks mode


def test_a_script_in_an_email_never_runs_in_the_dashboard(db_app, team):
    message = _mail(team["dana"])
    message.subject = "<script>alert(1)</script>"
    message.html_body = "<p>Hi</p><script>alert(2)</script>"
    db.session.commit()
    web = sign_in(db_app, team["sam"])
    page = web.get(f"/dashboard/outbox/{message.id}").get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;alert(1)" in page
    body = web.get(f"/dashboard/outbox/{message.id}/body")
    assert "sandbox" in body.headers["Content-Security-Policy"]  # no scripts, opaque origin


def test_a_coach_cannot_open_another_coachs_lead_emails(db_app, team):
    kim_mail = _mail(team["kim"])
    web = sign_in(db_app, team["sam"])
    assert f"/dashboard/outbox/{kim_mail.id}\"" not in web.get("/dashboard/outbox").get_data(as_text=True)
    for url in (f"/dashboard/outbox/{kim_mail.id}", f"/dashboard/outbox/{kim_mail.id}/body"):
        assert web.get(url).status_code == 404
    assert web.post(f"/dashboard/outbox/{kim_mail.id}/resend", {}).status_code == 404
    assert web.get("/dashboard/outbox/999999").status_code == 404
    alex = sign_in(db_app, team["alex"])
    assert alex.get(f"/dashboard/outbox/{kim_mail.id}").status_code == 200


def test_emails_without_a_lead_are_for_the_owner_only(db_app, team):
    digest = team["digest"]
    web = sign_in(db_app, team["sam"])
    listing = web.get("/dashboard/outbox").get_data(as_text=True)
    assert f"/dashboard/outbox/{digest.id}\"" not in listing and "Coach digest" not in listing
    for url in (f"/dashboard/outbox/{digest.id}", f"/dashboard/outbox/{digest.id}/body"):
        assert web.get(url).status_code == 404
    owner = sign_in(db_app, team["owner"])
    page = owner.get(f"/dashboard/outbox/{digest.id}").get_data(as_text=True)
    assert "Coach digest" in page and "none (an email to the team)" in page
    assert owner.get(f"/dashboard/outbox/{digest.id}/body").status_code == 200


def test_the_list_filters_by_kind_with_plain_labels(db_app, team):
    owner = sign_in(db_app, team["owner"])
    everything = owner.get("/dashboard/outbox").get_data(as_text=True)
    assert '<option value="coach_digest">Coach digest</option>' in everything
    assert '<option value="strategy_confirmation">Strategy session confirmation</option>' in everything
    digests = owner.get("/dashboard/outbox?kind=coach_digest").get_data(as_text=True)
    assert f"/dashboard/outbox/{team['digest'].id}\"" in digests
    assert f"/dashboard/outbox/{_mail(team['dana']).id}\"" not in digests
    assert '<option value="coach_digest" selected>' in digests
    both = owner.get("/dashboard/outbox?kind=strategy_confirmation&status=queued").get_data(as_text=True)
    assert f"/dashboard/outbox/{_mail(team['dana']).id}\"" in both and f"/dashboard/outbox/{team['digest'].id}\"" \
        not in both
    assert "No emails." in owner.get("/dashboard/outbox?kind=strategy_confirmation&status=sent").get_data(
        as_text=True)
    sam = sign_in(db_app, team["sam"]).get("/dashboard/outbox").get_data(as_text=True)
    assert 'value="coach_digest"' not in sam  # the kinds on offer are the kinds they can see


def test_a_failed_email_is_resent_from_its_page(db_app, team):
    message = _mail(team["dana"])
    message.status, message.last_error = "failed", "550 mailbox unavailable"
    db.session.commit()
    web = sign_in(db_app, team["sam"])
    page = f"/dashboard/outbox/{message.id}"
    web.get(page)
    response = web.post(f"{page}/resend", {"next": page})
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    db.session.refresh(message)
    assert message.status == "queued"
    html = web.get(page).get_data(as_text=True)
    assert "Email queued again." in html and "Email queued again by Sam Mobility" in html  # flash, history
    assert 'action="/dashboard/outbox/' not in html  # no Resend for a queued email
    again = web.post(f"{page}/resend", {"next": page}, follow_redirects=True)
    assert "Only failed emails" in again.get_data(as_text=True)


def test_every_kind_the_code_queues_has_a_plain_label():
    """``queue_email(kind=...)`` anywhere in coachapp, and every sequence in rules/, is in KIND_LABELS."""
    root = Path(__file__).resolve().parents[2]
    kinds = set()
    for path in (root / "coachapp").rglob("*.py"):
        source = path.read_text()
        for call in re.finditer(r"queue_email\(", source):
            arguments = source[call.end():call.end() + 600]
            found = re.search(r'kind=((?:f?"[^"]*"(?: if \w+ else )?)+)', arguments)
            if found:
                kinds |= {k for k in re.findall(r'"([^"]*)"', found.group(1)) if "{" not in k}
    assert {"assessment_plan", "clinician_first", "coach_digest", "task_due"} <= kinds  # the scan works
    sequences = yaml.safe_load((root / "rules" / "sequences.yaml").read_text())["sequences"]
    kinds |= {f"sequence:{s['id']}" for s in sequences}
    assert kinds - set(KIND_LABELS) == set()
    assert {k for k in KIND_LABELS if k.startswith("sequence:")} <= kinds  # no label for a kind gone
