"""Merging two leads: every table's rows move, first touch from the older record, the audit
record, enrollment conflicts, the merged lead's URL, permissions and CSRF (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads import actions, merge
from coachapp.models import (
    AssessmentSubmission,
    Booking,
    CoachTask,
    Enrollment,
    Lead,
    LeadEvent,
    LeadMerge,
    OutboxMessage,
    SequenceStep,
    StrategyRequest,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from coachapp.rules_store import get_rules
from tests.dashboard.test_leads_list import coach_with_password
from tests.helpers_dashboard import sign_in

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SEQ = "assessment_nurture"


def lead(email: str, created: datetime, **values) -> Lead:
    row = Lead(email=email, email_display=email, created_at=created, updated_at=created, **values)
    db.session.add(row)
    db.session.flush()
    return row


def rows_for(row: Lead, n: int, steps: tuple[str, ...] = ("drill_top_priority",), booking: str = "b") -> None:
    """``n`` rows in every table that holds a lead's data, plus an enrollment with ``steps``."""
    endpoint = WebhookEndpoint(url="https://hooks.example.com/in", events=["lead.created"], secret="whsec_eA==")
    db.session.add(endpoint)
    db.session.flush()
    for i in range(n):
        db.session.add(WebhookDelivery(endpoint_id=endpoint.id, lead_id=row.id, event_type="lead.created",
                                       purpose_key=f"lead.created:{row.id}:{i}:{endpoint.id}",
                                       message_id=f"msg_{row.id}_{i}", payload={}))
        db.session.add(AssessmentSubmission(token=secrets.token_hex(8), lead_id=row.id, started_at=T0))
        db.session.add(StrategyRequest(token=secrets.token_hex(8), lead_id=row.id, time_zone="UTC", created_at=T0))
        db.session.add(CoachTask(lead_id=row.id, kind="first_contact", title="Call", due_at=NOW))
        db.session.add(LeadEvent(lead_id=row.id, kind="note", summary=f"note {i}", data={}, created_at=T0))
        db.session.add(OutboxMessage(lead_id=row.id, purpose_key=f"k:{row.id}:{i}", kind="x", to_address=row.email,
                                     subject="s", text_body="t", html_body="h", message_id=f"<{row.id}.{i}@x>"))
        db.session.add(Booking(lead_id=row.id, provider="calcom", uid=f"{booking}{i}"))
        db.session.add(WebhookEvent(lead_id=row.id, provider="calcom", event_id=f"{booking}{i}", kind="created"))
    enrollment = Enrollment(lead_id=row.id, sequence_id=SEQ, enrolled_at=T0)
    db.session.add(enrollment)
    db.session.flush()
    for step in steps:
        db.session.add(SequenceStep(enrollment_id=enrollment.id, lead_id=row.id, sequence_id=SEQ, step_id=step,
                                    template="nurture_drill_top_priority", due_at=NOW + timedelta(days=3)))
    db.session.flush()


def count(model, lead_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.lead_id == lead_id))


@pytest.fixture
def pair(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    older = lead("dana@example.com", T0, first_name="Dana", phone=None, source="instagram", utm_campaign="spring",
                 first_touch_at=T0, stage="contacted", consent_health_at=T0, consent_text_version="v1")
    newer = lead("dana.r@example.com", T0 + timedelta(days=30), first_name="Danielle", last_name="Runner",
                 phone="+15125550143", source="direct", first_touch_at=T0 + timedelta(days=30),
                 consent_marketing_at=T0 + timedelta(days=30))
    rows_for(older, 1, steps=("drill_top_priority",), booking="o")
    rows_for(newer, 2, steps=("drill_top_priority", "extra_step"), booking="n")
    db.session.commit()
    return owner, older.id, newer.id


def test_every_row_moves_first_touch_from_the_older_and_an_audit_record(pair):
    owner, older_id, newer_id = pair
    before = {m: count(m, older_id) + count(m, newer_id) for m in merge.MOVED}
    # the coach keeps the NEWER record and its first name: first touch still comes from the older
    merge.merge(get_rules(), newer_id, older_id, {"first_name": "survivor", "stage": "merged"}, owner, NOW)
    db.session.commit()
    assert db.session.get(Lead, older_id) is None
    for model in merge.MOVED:  # every table: all rows of both leads are now the survivor's
        if model is not LeadEvent:
            assert count(model, newer_id) == before[model] == 3, model.__tablename__
        assert count(model, older_id) == 0
    kinds = list(db.session.execute(select(LeadEvent.kind).where(LeadEvent.lead_id == newer_id)).scalars())
    assert kinds.count("note") == before[LeadEvent] == 3 and kinds.count("merged") == 1
    survivor = db.session.get(Lead, newer_id)
    assert (survivor.first_name, survivor.last_name, survivor.phone, survivor.stage) == (
        "Danielle", "Runner", "+15125550143", "contacted")
    assert (survivor.source, survivor.utm_campaign, survivor.first_touch_at, survivor.created_at) == (
        "instagram", "spring", T0, T0)
    assert survivor.consent_health_at == T0  # the survivor had none: the older record's, original time
    assert survivor.consent_marketing_at == T0 + timedelta(days=30)
    audit = db.session.execute(select(LeadMerge)).scalar_one()
    assert (audit.survivor_id, audit.merged_lead_id, audit.merged_email, audit.by_name) == (
        newer_id, older_id, "dana@example.com", "Olive Owner")
    assert audit.choices["stage"] == {"from": "merged", "value": "contacted"}
    assert audit.moved["assessment_submissions"] == 1 and audit.moved["bookings"] == 1
    # both were in the same sequence: the survivor's enrollment is kept, the duplicate step dropped
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1
    assert count(SequenceStep, newer_id) == 2 and count(SequenceStep, older_id) == 0
    assert audit.moved["sequence_steps_dropped"] == 1
    assert merge.merged_into(older_id) == newer_id


def test_the_loser_enrollment_moves_when_the_survivor_has_none(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    a = lead("a@example.com", T0)
    b = lead("b@example.com", T0 + timedelta(days=1))
    rows_for(b, 0, steps=("drill_top_priority",))
    db.session.commit()
    merge.merge(get_rules(), a.id, b.id, {}, owner, NOW)
    db.session.commit()
    enrollment = db.session.execute(select(Enrollment)).scalar_one()
    assert enrollment.lead_id == a.id
    assert db.session.execute(select(SequenceStep.lead_id, SequenceStep.enrollment_id)).all() == [
        (a.id, enrollment.id)]


def test_planned_steps_of_a_duplicate_sequence_are_cancelled(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    a = lead("a@example.com", T0)
    b = lead("b@example.com", T0 + timedelta(days=1))
    rows_for(a, 0, steps=("drill_top_priority",))
    rows_for(b, 0, steps=("other_step",))
    db.session.commit()
    audit = merge.merge(get_rules(), a.id, b.id, {}, owner, NOW)
    db.session.commit()
    moved = db.session.execute(select(SequenceStep).where(SequenceStep.step_id == "other_step")).scalar_one()
    assert (moved.lead_id, moved.status) == (a.id, "cancelled") and "duplicate sequence" in moved.reason
    assert audit.moved["sequence_steps_cancelled"] == 1


def test_an_unsubscribe_on_either_record_stands(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    a = lead("a@example.com", T0, consent_marketing_at=T0)
    b = lead("b@example.com", T0 + timedelta(days=1), unsubscribed_sales_at=T0 + timedelta(days=2))
    db.session.commit()
    merge.merge(get_rules(), a.id, b.id, {"consent_marketing_at": "survivor"}, owner, NOW)
    db.session.commit()
    kept = db.session.get(Lead, a.id)
    assert kept.unsubscribed_sales_at == T0 + timedelta(days=2) and kept.consent_marketing_at is None


def test_erasing_the_survivor_blanks_the_audit_record(pair):
    owner, older_id, newer_id = pair
    merge.merge(get_rules(), older_id, newer_id, {}, owner, NOW)
    db.session.commit()
    assert actions.export(db.session.get(Lead, older_id))["merged_records"][0]["email"] == "dana.r@example.com"
    actions.erase(db.session.get(Lead, older_id), owner, NOW)
    db.session.commit()
    audit = db.session.execute(select(LeadMerge)).scalar_one()
    assert (audit.merged_email, audit.choices) == (None, {})
    for model in merge.MOVED:
        if model not in (WebhookEvent, LeadEvent):  # erasure keeps anonymous provider event ids (SET NULL)
            assert count(model, older_id) == 0
    assert list(db.session.execute(select(LeadEvent.kind).where(LeadEvent.lead_id == older_id)).scalars()) == [
        "erased"]


def test_merge_through_the_pages_and_the_old_url_redirects(pair, db_app):
    owner, older_id, newer_id = pair
    web = sign_in(db_app, owner)
    page = web.get(f"/dashboard/leads/{newer_id}").get_data(as_text=True)
    assert f"/dashboard/leads/{newer_id}/merge" in page
    found = web.get(f"/dashboard/leads/{newer_id}/merge?q=dana@").get_data(as_text=True)
    assert f"/dashboard/leads/{newer_id}/merge/{older_id}" in found
    compare = web.get(f"/dashboard/leads/{newer_id}/merge/{older_id}").get_data(as_text=True)
    assert "the older record" in compare and 'name="first_name"' in compare and 'name="survivor"' in compare
    response = web.post(f"/dashboard/leads/{newer_id}/merge/{older_id}",
                        {"survivor": str(older_id), "first_name": str(newer_id), "phone": str(newer_id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/dashboard/leads/{older_id}")
    db.session.expire_all()
    kept = db.session.get(Lead, older_id)
    assert (kept.email, kept.first_name, kept.phone, kept.source) == (
        "dana@example.com", "Danielle", "+15125550143", "instagram")
    gone = web.get(f"/dashboard/leads/{newer_id}")
    assert gone.status_code == 302 and gone.headers["Location"].endswith(f"/dashboard/leads/{older_id}")
    assert "Merged with lead #" in web.get(f"/dashboard/leads/{older_id}").get_data(as_text=True)


def test_refusals_permissions_same_lead_and_csrf(pair, db_app):
    owner, older_id, newer_id = pair
    sam = coach_with_password(name="Sam Coach", email="sam@motive.example")
    kim = coach_with_password(name="Kim Coach", email="kim@motive.example")
    db.session.get(Lead, newer_id).owner_id = kim.id
    db.session.commit()
    web = sign_in(db_app, sam)
    assert web.get(f"/dashboard/leads/{older_id}/merge/{newer_id}").status_code == 404  # Kim's lead
    web.get(f"/dashboard/leads/{older_id}")
    assert web.post(f"/dashboard/leads/{older_id}/merge/{newer_id}", {}).status_code == 404
    with pytest.raises(merge.MergeError):
        merge.merge(get_rules(), older_id, newer_id, {}, sam, NOW)
    db.session.rollback()
    with pytest.raises(merge.MergeError):
        merge.merge(get_rules(), older_id, older_id, {}, owner, NOW)
    owner_web = sign_in(db_app, owner)
    same = owner_web.get(f"/dashboard/leads/{older_id}/merge/{older_id}")
    assert same.status_code == 302
    no_token = owner_web.client.post(f"/dashboard/leads/{older_id}/merge/{newer_id}", data={})
    assert no_token.status_code == 400
    assert db.session.get(Lead, newer_id) is not None and db.session.scalar(
        select(func.count()).select_from(LeadMerge)) == 0
    # a coach who sees both (own + unassigned) may merge them
    db.session.get(Lead, newer_id).owner_id = sam.id
    db.session.commit()
    web = sign_in(db_app, sam)
    web.get(f"/dashboard/leads/{older_id}/merge/{newer_id}")
    assert web.post(f"/dashboard/leads/{older_id}/merge/{newer_id}", {}).status_code == 302
    assert merge.merged_into(newer_id) == older_id


def test_concurrent_merges_wait_for_each_other_on_postgresql(pair, db_app):
    """Merge 1 holds both rows (not committed yet); merge 2 of the same two leads the other way
    round waits on the row lock, then finds its survivor gone and is refused: one merge, not two."""
    import threading

    owner, older_id, newer_id = pair
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time anyway)")
    merge.merge(get_rules(), older_id, newer_id, {}, owner, NOW)  # holds the locks until the commit
    outcome: list[str] = []

    def second() -> None:
        with db_app.app_context():
            try:
                merge.merge(get_rules(), newer_id, older_id, {}, db.session.merge(owner), NOW)
                db.session.commit()
                outcome.append("merged")
            except merge.MergeError as exc:
                db.session.rollback()
                outcome.append(str(exc))
            finally:
                db.session.remove()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive()  # waiting on the lock
    db.session.commit()
    thread.join(10)
    assert outcome == ["One of these leads no longer exists (merged or erased meanwhile)."]
    assert db.session.get(Lead, older_id) is not None and db.session.get(Lead, newer_id) is None
    assert db.session.scalar(select(func.count()).select_from(LeadMerge)) == 1


def test_every_table_with_a_lead_id_is_moved_by_a_merge():
    """A table added later with a ``lead_id`` must be moved too (or handled apart, like the
    sequence rows): otherwise a merge would leave its rows pointing at a deleted lead."""
    from coachapp.models import Enrollment, SequenceStep
    from coachapp.models.base import Base

    handled = {m.__table__.name for m in (*merge.MOVED, Enrollment, SequenceStep)}
    with_lead_id = {t.name for t in Base.metadata.sorted_tables if "lead_id" in t.columns}
    assert with_lead_id <= handled, sorted(with_lead_id - handled)
