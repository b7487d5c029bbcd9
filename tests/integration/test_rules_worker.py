"""A real Celery worker process picks up a rules version published while it runs (within its
``RULES_LIVE_TTL``), and the emails it renders from then on record the published version."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from coachapp import rules_store
from coachapp.extensions import db
from coachapp.models import Enrollment, Lead, OutboxMessage, SequenceStep, utcnow
from coachapp.rules_versions import services
from tests.helpers_rules_versions import edited_copy, import_draft
from tests.integration.test_followups_delivery import daytime_zone

pytestmark = pytest.mark.integration


def due_safety_email(email: str) -> None:
    """A lead whose red-flag clinician email is due now (in its daytime)."""
    now = utcnow()
    lead = Lead(email=email, email_display=email, first_name="Rae", time_zone=daytime_zone(now),
                needs_clinician=True, consent_health_at=now)
    db.session.add(lead)
    db.session.flush()
    enrollment = Enrollment(lead_id=lead.id, sequence_id="red_flag", status="active", enrolled_at=now)
    db.session.add(enrollment)
    db.session.flush()
    db.session.add(SequenceStep(enrollment_id=enrollment.id, lead_id=lead.id, sequence_id="red_flag",
                                step_id="see_clinician", template="red_flag_clinician", audience="prospect",
                                due_at=now - timedelta(minutes=1), status="planned"))
    db.session.commit()


def stamp(email: str) -> str | None:
    db.session.expire_all()
    return db.session.execute(select(OutboxMessage.rules_version)
                              .where(OutboxMessage.to_address == email)).scalar_one_or_none()


def test_a_running_worker_renders_with_the_version_published_meanwhile(stack, smtp, tmp_path):
    celery = stack.app.extensions["celery"]
    with stack.app.app_context():
        files = rules_store.files_rules().version
        stack.start_worker(extra_env={"RULES_LIVE_TTL": "1"})
        due_safety_email("before@example.com")
        celery.send_task("followups.sweep")
        assert [str(m["To"]) for m in smtp.wait_for(1, timeout=60)] == ["before@example.com"]
        assert stamp("before@example.com") == files

        draft = import_draft(edited_copy(tmp_path), note="published while the worker runs")
        services.publish(draft.id, services.Actor.cli(), utcnow())
        db.session.commit()
        time.sleep(1.5)  # the worker's RULES_LIVE_TTL
        due_safety_email("after@example.com")
        celery.send_task("followups.sweep")
        assert "after@example.com" in [str(m["To"]) for m in smtp.wait_for(2, timeout=60)]
        assert stamp("after@example.com") == draft.content_hash != files
        rules_store.forget()
