"""The captured-mail reader: an email's links open in a new tab, never inside a refused frame."""

from __future__ import annotations

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import OutboxMessage
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in


def test_links_in_a_captured_email_open_in_a_new_tab(db_app) -> None:
    complete_assessment(DESK_ACHILLES, "dana@example.com")
    message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == "assessment_plan")).scalar_one()
    client = sign_in(db_app, coach_with_password(db, is_owner=True))  # the owner's reader
    page = client.get(f"/outbox/{message.id}").get_data(as_text=True)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert 'target="_blank" rel="noopener">http://coach.test/assessment/' in page
    assert "/plan.ics" in page and "webcal://" in page
    frame = client.get(f"/outbox/{message.id}/html")
    assert frame.get_data(as_text=True).startswith('<base target="_blank">')
    assert "sandbox allow-popups allow-popups-to-escape-sandbox" in frame.headers["Content-Security-Policy"]
