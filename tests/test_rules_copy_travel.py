"""Email copy travels with a rules version (issue 15, follow-up): ``flask rules export`` writes it as
``email_copy.yaml``, ``import`` reads it back into the draft with the editor's checks (an unknown
template or variable is refused, named), the round trip keeps the content hash and the copy; the
copy's diff (pure) shows in ``flask rules diff``, the compare view and the publish confirmation."""

from __future__ import annotations

import html

import pytest
import yaml
from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import RulesVersion, utcnow
from coachapp.rules_versions import copy_text, services
from coachapp.rules_versions.diff import copy_as_text, diff_copy
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_rules_versions import edited_copy, import_draft, versions_cleared  # noqa: F401  (a fixture)

ACTOR = services.Actor(None, "Test Owner <owner@example.com>")
PLAN = {"subject": "{{ first_name }}, your plan: {{ top_priority }}",
        "body": "Hello **{{ first_name }}**,\n\nHere is your plan.\n\n- one\n- two"}
STORY = {"subject": "A runner like you", "body": "Hi {{ first_name }},\n\nA short story."}


# --- pure -------------------------------------------------------------------------------------

def test_the_copy_diff_names_each_template_and_diffs_subject_and_body():
    old = {"assessment_plan": PLAN, "nurture_case_story": STORY}
    new = {"assessment_plan": {**PLAN, "body": PLAN["body"].replace("Here is", "This is")},
           "nurture_strategy_invite": {"subject": "Book a call", "body": "Hi,\n\nBook."}}
    diffs = diff_copy(old, new, "v1", "v2")
    assert [(d.template, d.status, d.fields) for d in diffs] == [
        ("assessment_plan", "changed", ("body",)),
        ("nurture_case_story", "removed", ("subject", "body")),
        ("nurture_strategy_invite", "added", ("subject", "body"))]
    plan = diffs[0]
    assert plan.lines[:2] == ("--- v1/copy/assessment_plan", "+++ v2/copy/assessment_plan")
    assert "-Here is your plan." in plan.lines and "+This is your plan." in plan.lines
    assert (plan.added, plan.removed) == (1, 1)
    assert diffs[1].subject == ("A runner like you", "")
    assert diff_copy(old, dict(old), "a", "b") == []
    text = copy_as_text(diffs)
    assert "email nurture_strategy_invite (added: subject, body)" in text
    assert "  subject: ''\n       → 'Book a call'\n" in text


def test_email_copy_yaml_round_trips_and_is_checked_like_the_editor():
    copy = {"assessment_plan": PLAN, "nurture_case_story": STORY}
    text = copy_text.to_yaml(copy)
    assert "body: |" in text  # readable: the Markdown as a block
    assert copy_text.from_yaml(text) == (copy, [])
    assert copy_text.to_yaml({}) == "" and copy_text.from_yaml("") == ({}, [])
    bad = yaml.safe_dump({"assessment_plan": {**PLAN, "subject": "Hi {{ shoe_size }}"},
                          "welcome_gift": {"subject": "x", "body": "y"}})
    _copy, problems = copy_text.from_yaml(bad)
    assert any("email_copy.yaml: email assessment_plan subject" in p and "{{ shoe_size }}" in p for p in problems)
    assert any("email welcome_gift" in p and "“welcome_gift” cannot be reworded" in p for p in problems)
    assert copy_text.from_yaml("- a list\n")[1] == [
        "email_copy.yaml: expected a mapping of email template → {subject, body}"]
    assert "expected only a text subject and a text body" in copy_text.from_yaml(
        "assessment_plan: {subject: x, body: y, extra: z}\n")[1][0]
    assert copy_text.from_yaml("a: [\n")[1][0].startswith("email_copy.yaml: invalid YAML")


# --- the CLI (PostgreSQL) ----------------------------------------------------------------------

@pytest.mark.usefixtures("versions_cleared")
def test_export_then_import_keeps_files_and_copy(db_app, tmp_path):
    runner = db_app.test_cli_runner()
    draft = import_draft(edited_copy(tmp_path))
    plain = tmp_path / "plain"
    assert runner.invoke(args=["rules", "export", "1", str(plain)]).exit_code == 0
    assert not (plain / "email_copy.yaml").exists()  # no copy: no file
    services.update_draft(draft, ACTOR, utcnow(), copy={"assessment_plan": PLAN, "nurture_case_story": STORY})
    db.session.commit()

    out = tmp_path / "out"
    result = runner.invoke(args=["rules", "export", "1", str(out)])
    assert result.exit_code == 0 and "email copy of 2 emails in email_copy.yaml" in result.output, result.output
    assert copy_text.from_yaml((out / "email_copy.yaml").read_text(encoding="utf-8"))[0] == draft.copy
    check = runner.invoke(args=["rules", "check", "--path", str(out)])
    assert check.exit_code == 0 and "(+ email copy of 2 emails)" in check.output, check.output
    result = runner.invoke(args=["rules", "import", str(out)])
    assert result.exit_code == 0 and "draft v2" in result.output and "email copy of 2 emails" in result.output
    db.session.expire_all()
    first, second = db.session.execute(select(RulesVersion).order_by(RulesVersion.number)).scalars().all()
    assert second.content_hash == first.content_hash and second.files == first.files
    assert second.copy == first.copy == {"assessment_plan": PLAN, "nurture_case_story": STORY}

    diff = runner.invoke(args=["rules", "diff", "files", "2"])
    assert diff.exit_code == 0
    assert "+++ v2/assessment/runner_assessment.yaml" in diff.output
    assert "email assessment_plan (added: subject, body)" in diff.output
    assert "+Here is your plan." in diff.output
    same = runner.invoke(args=["rules", "diff", "1", "2"])
    assert "v1 and v2 have the same files and email copy" in same.output
    missing = runner.invoke(args=["rules", "diff", "1", "9"])
    assert missing.exit_code != 0 and "No rules version '9'" in missing.output


@pytest.mark.usefixtures("versions_cleared")
def test_import_refuses_copy_with_an_unknown_variable_or_template(db_app, tmp_path):
    runner = db_app.test_cli_runner()
    folder = edited_copy(tmp_path)
    (folder / "email_copy.yaml").write_text(yaml.safe_dump({
        "assessment_plan": {"subject": "Hi {{ shoe_size }}", "body": "Hello"},
        "welcome_gift": {"subject": "x", "body": "y"}}), encoding="utf-8")
    result = runner.invoke(args=["rules", "import", str(folder)])
    assert result.exit_code == 1
    assert "error: email_copy.yaml: email assessment_plan subject: Unknown variable {{ shoe_size }}" in result.output
    assert "welcome_gift" in result.output
    check = runner.invoke(args=["rules", "check", "--path", str(folder)])
    assert check.exit_code == 1 and "shoe_size" in check.output
    assert db.session.execute(select(RulesVersion)).first() is None


# --- the pages -----------------------------------------------------------------------------------

@pytest.mark.usefixtures("versions_cleared")
def test_compare_and_publish_confirmation_show_copy_changes(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True, name="Olga Owner", email="olga@motive.example")
    web = sign_in(db_app, owner)
    draft = import_draft(edited_copy(tmp_path))
    services.update_draft(draft, ACTOR, utcnow(), copy={"assessment_plan": PLAN})
    db.session.commit()
    page = html.unescape(web.get("/dashboard/rules/compare?a=files&b=1").get_data(as_text=True))
    assert "the copy of 1 email changed" in page
    assert 'id="copy-diff-assessment_plan"' in page
    assert "(the built-in subject)" in page and PLAN["subject"] in page
    assert "+Here is your plan." in page
    confirm = html.unescape(web.get("/dashboard/rules/1/publish").get_data(as_text=True))
    assert "The email copy of 1 email changes: <code>assessment_plan</code> (subject, body)" in confirm
    assert "+Here is your plan." in confirm
    same = html.unescape(web.get("/dashboard/rules/compare?a=1&b=1").get_data(as_text=True))
    assert "v1 and v1 have the same files and email copy." in same
