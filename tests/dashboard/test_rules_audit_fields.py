"""The audit names what changed (issue 15.4, follow-up): each editor save's audit row lists the
changed fields in words — a question's text, an email's subject, a sequence step's delay, a
question moved — and the audit log on /dashboard/rules and the draft's history show them."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import RulesAudit
from coachapp.rules_versions import edits, services
from tests.dashboard.test_rules_editor import new_draft
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_rules_versions import NEW_LABEL, versions_cleared  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("versions_cleared")


def words(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_each_edit_records_the_fields_it_changed(db_app):
    web = sign_in(db_app, coach_with_password(db, is_owner=True, name="Ava Owner", email="ava@motive.example"))
    n = new_draft(web)
    base = f"/dashboard/rules/{n}/edit"
    web.get(f"{base}/questions")
    assert web.post(f"{base}/questions", {"q.age_band.text": NEW_LABEL, "q.desk_hours.help": "A rough count"}
                    ).status_code == 200
    web.get(f"{base}/emails")
    assert web.post(f"{base}/emails", {"assessment_plan.subject": "Your plan, {{ first_name }}",
                                       "assessment_plan.body": "Hello {{ first_name }}."}).status_code == 200
    step = next(f for f in edits.fields(services.by_number(n).files, "sequences") if f.key.startswith("st."))
    sequence, step_id = step.key.split(".")[1:3]
    assert web.post(f"{base}/sequences", {step.key: str(int(step.value) + 2)}).status_code == 200
    assert web.post(f"{base}/questions", {"move": "sex:up"}).status_code == 200
    assert web.post(f"{base}/questions", {"q.age_band.text": NEW_LABEL}).status_code == 200  # nothing changes

    rows = db.session.execute(select(RulesAudit).where(RulesAudit.action == "edit").order_by(RulesAudit.id)).scalars()
    fields = [r.detail.get("fields") for r in rows]
    assert fields == [
        ["assessment: question age_band text", "assessment: question desk_hours help"],
        ["copy: assessment_plan subject", "copy: assessment_plan body"],
        [f"sequences: {sequence} step {step_id} delay"],
        ["assessment: question sex moved up"],
    ]

    log = words(web.get("/dashboard/rules"))
    assert "assessment: question age_band text assessment: question desk_hours help" in log
    assert "copy: assessment_plan subject copy: assessment_plan body" in log
    assert f"sequences: {sequence} step {step_id} delay" in log
    history = words(web.get(f"{base}"))
    assert "assessment: question sex moved up" in history


def test_update_draft_records_fields_only_when_given(db_app, tmp_path):
    from coachapp.models import utcnow
    from tests.helpers_rules_versions import edited_copy, import_draft

    draft = import_draft(edited_copy(tmp_path))
    actor = services.Actor(None, "Test")
    services.update_draft(draft, actor, utcnow(), note="no fields")
    services.update_draft(draft, actor, utcnow(), copy={}, fields=["copy: assessment_plan subject"])
    db.session.commit()
    details = [r.detail for r in db.session.execute(
        select(RulesAudit).where(RulesAudit.action == "edit").order_by(RulesAudit.id)).scalars()]
    assert details == [{"changed": [], "problems": 0},
                       {"changed": ["copy"], "problems": 0, "fields": ["copy: assessment_plan subject"]}]
