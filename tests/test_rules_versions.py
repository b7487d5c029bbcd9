"""Rules versions in the database (issue 15): the loader from stored texts, drafts, publish and
rollback (one live version, even when two publishes race), the audit log, the diff, the CLI's
export → import round trip, and a worker process picking up a publish."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from coachapp import rules_store
from coachapp.assessment import RulesError, clean_answers, evaluate, load_rules, load_rules_from_texts, read_texts
from coachapp.assessment.rules import FILES
from coachapp.extensions import db
from coachapp.models import OutboxMessage, RulesAudit, RulesVersion, SequenceStep, utcnow
from coachapp.rules_versions import services
from coachapp.rules_versions.diff import as_text, diff_texts
from coachapp.rules_versions.services import Actor, PublishConflict, VersionError
from tests.conftest import ROOT, dispose, make_config
from tests.helpers import DESK_ACHILLES, complete_assessment
from tests.helpers_rules_versions import (  # noqa: F401  (versions_cleared: a fixture)
    LABEL_FILE,
    NEW_LABEL,
    OLD_LABEL,
    edited_copy,
    import_draft,
    versions_cleared,
)

ACTOR = Actor(None, "Test Owner <owner@example.com>")


# --- the loader ------------------------------------------------------------------------------

def test_loading_from_a_mapping_of_texts_is_loading_the_folder():
    errors: list[str] = []
    texts = read_texts(ROOT / "rules", errors)
    assert not errors and LABEL_FILE in texts and "sources.yaml" in texts
    from_folder, from_texts = load_rules(ROOT / "rules"), load_rules_from_texts(texts)
    assert from_texts.version == from_folder.version
    assert from_texts.files == from_folder.files
    today = date(2026, 12, 5)
    answers = clean_answers(from_folder.assessment, DESK_ACHILLES)[0]
    assert (evaluate(from_texts, answers, today=today).to_dict()
            == evaluate(from_folder, answers, today=today).to_dict())


def test_a_mapping_gets_the_folders_errors(tmp_path):
    errors: list[str] = []
    texts = read_texts(ROOT / "rules", errors)
    broken = {**texts, "extra.yaml": "a: 1\n", LABEL_FILE: texts[LABEL_FILE].replace(
        "id: desk_hours", "id: desk_hours\n        colour: blue", 1)}
    del broken["booking.yaml"]
    with pytest.raises(RulesError) as info:
        load_rules_from_texts(broken)
    assert "booking.yaml: missing rule file" in info.value.errors
    assert any(e.startswith("extra.yaml: unknown rule file") for e in info.value.errors)
    broken["booking.yaml"] = texts["booking.yaml"]
    del broken["extra.yaml"]
    with pytest.raises(RulesError) as info:
        load_rules_from_texts(broken)
    assert any(LABEL_FILE in e and "colour" in e for e in info.value.errors), info.value.errors
    folder = tmp_path / "rules"
    for rel, text in broken.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as from_folder:
        load_rules(folder)
    assert from_folder.value.errors == info.value.errors


# --- the diff (pure) ---------------------------------------------------------------------------

def test_the_diff_is_a_unified_diff_per_changed_file():
    old = {"a.yaml": "x: 1\ny: 2\n", "same.yaml": "s: 1\n", "gone.yaml": "g: 1\n"}
    new = {"a.yaml": "x: 1\ny: 3\n", "same.yaml": "s: 1\n", "new.yaml": "n: 1\n"}
    diffs = diff_texts(old, new, "v1", "v2")
    assert [(d.path, d.status, d.added, d.removed) for d in diffs] == [
        ("a.yaml", "changed", 1, 1), ("gone.yaml", "removed", 0, 1), ("new.yaml", "added", 1, 0)]
    assert diffs[0].lines == ("--- v1/a.yaml", "+++ v2/a.yaml", "@@ -1,2 +1,2 @@", " x: 1", "-y: 2", "+y: 3")
    assert as_text(diffs).startswith("--- v1/a.yaml\n+++ v2/a.yaml\n") and diff_texts(old, old, "a", "b") == []


# --- drafts, publish, rollback, audit --------------------------------------------------------

@pytest.mark.usefixtures("versions_cleared")
def test_publish_serves_the_version_and_rollback_goes_back_along_the_chain(db_app, tmp_path):
    files = rules_store.files_rules()
    first = import_draft(edited_copy(tmp_path), note="age wording")
    assert (first.number, first.status, first.note) == (1, "draft", "age wording")
    assert first.content_hash != files.version and rules_store.get_rules() is files  # a draft is not served
    services.publish(first.id, ACTOR, utcnow())
    db.session.commit()  # the after_commit hook forgets this process's live version at once
    live = rules_store.get_rules()
    assert live.version == first.content_hash and live.assessment.question("age_band").text == NEW_LABEL
    second = import_draft(edited_copy(tmp_path, new="Your age?", name="second"))
    services.publish(second.id, ACTOR, utcnow())
    db.session.commit()
    assert rules_store.get_rules().assessment.question("age_band").text == "Your age?"
    assert (db.session.get(RulesVersion, first.id).status, second.previous_live_id) == ("retired", first.id)

    left, back = services.rollback(ACTOR, utcnow())
    db.session.commit()
    assert (left.id, back.id) == (second.id, first.id)
    assert rules_store.get_rules().assessment.question("age_band").text == NEW_LABEL
    left, back = services.rollback(ACTOR, utcnow())
    db.session.commit()
    assert (left.id, back) == (first.id, None) and rules_store.get_rules() is files
    with pytest.raises(VersionError, match="shipped rules files are live"):
        services.rollback(ACTOR, utcnow())
    with pytest.raises(VersionError, match="only a draft can be published"):
        services.publish(first.id, ACTOR, utcnow())

    audit = db.session.execute(select(RulesAudit).order_by(RulesAudit.id)).scalars().all()
    assert [(a.action, a.version_id) for a in audit] == [
        ("import", first.id), ("publish", first.id), ("import", second.id), ("publish", second.id),
        ("rollback", first.id), ("rollback", first.id)]
    assert [a.detail.get("from") for a in audit if a.action != "import"] == ["files", 1, 2, 1]
    assert [a.detail.get("to") for a in audit if a.action != "import"] == [1, 2, 1, "files"]
    assert audit[0].actor.startswith("CLI (") and audit[1].actor == ACTOR.label
    old_label, new_label, diffs = services.compare("files", "1")
    assert (old_label, new_label, [d.path for d in diffs]) == ("shipped files", "v1", [LABEL_FILE])
    assert f'-        text: "{OLD_LABEL}"' in diffs[0].lines and f'+        text: "{NEW_LABEL}"' in diffs[0].lines


@pytest.mark.usefixtures("versions_cleared")
def test_an_invalid_draft_cannot_be_published_and_says_why(db_app, tmp_path):
    draft = import_draft(edited_copy(tmp_path))
    texts = dict(draft.files)
    texts[LABEL_FILE] = texts[LABEL_FILE].replace("id: desk_hours", "id: desk_hours\n        colour: blue", 1)
    with pytest.raises(RulesError):  # the editor's default: an invalid text is refused
        services.update_draft(draft, ACTOR, utcnow(), files=texts)
    problems = services.update_draft(draft, ACTOR, utcnow(), files=texts, check=False)  # work in progress
    db.session.commit()
    assert any(LABEL_FILE in p and "colour" in p for p in problems) and draft.content_hash == "invalid"
    with pytest.raises(RulesError) as info:
        services.publish(draft.id, ACTOR, utcnow())
    db.session.rollback()
    assert info.value.errors == problems
    assert db.session.get(RulesVersion, draft.id).status == "draft" and services.live_version() is None


@pytest.mark.usefixtures("versions_cleared")
def test_only_a_draft_changes(db_app, tmp_path):
    draft = import_draft(edited_copy(tmp_path))
    services.publish(draft.id, ACTOR, utcnow())
    db.session.commit()
    with pytest.raises(VersionError, match="only a draft can be changed"):
        services.update_draft(draft, ACTOR, utcnow(), note="sneaky")


def _publish_in_thread(app, version_id: int, hold: bool, first_flushed: threading.Event, outcome: dict) -> None:
    with app.app_context():
        try:
            if not hold:
                first_flushed.wait(5)
            services.publish(version_id, ACTOR, utcnow())
            if hold:  # the row is written, not committed: the other publish runs into it
                first_flushed.set()
                time.sleep(0.5)
            db.session.commit()
            outcome[version_id] = "published"
        except PublishConflict as exc:
            db.session.rollback()
            outcome[version_id] = str(exc)
        finally:
            first_flushed.set()
            db.session.remove()


@pytest.mark.usefixtures("versions_cleared")
def test_two_publishes_at_once_leave_one_live_version(db_app, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and a concurrent unique index check: PostgreSQL")
    for round_ in range(2):  # first with the files live, then with a version live
        drafts = [import_draft(edited_copy(tmp_path, new=f"Age {round_}{n}?", name=f"c{round_}{n}")).id
                  for n in range(2)]
        first_flushed, outcome = threading.Event(), {}
        threads = [threading.Thread(target=_publish_in_thread, args=(db_app, drafts[0], True, first_flushed, outcome)),
                   threading.Thread(target=_publish_in_thread, args=(db_app, drafts[1], False, first_flushed, outcome))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert outcome[drafts[0]] == "published", outcome
        assert "published at the same moment" in outcome[drafts[1]], outcome
        db.session.expire_all()
        live = db.session.execute(select(RulesVersion).where(RulesVersion.status == "published")).scalars().all()
        assert [v.id for v in live] == [drafts[0]]
        assert db.session.get(RulesVersion, drafts[1]).status == "draft"


# --- the CLI ---------------------------------------------------------------------------------

@pytest.mark.usefixtures("versions_cleared")
def test_cli_export_then_import_gives_the_same_hash(db_app, tmp_path):
    runner = db_app.test_cli_runner()
    result = runner.invoke(args=["rules", "import", str(edited_copy(tmp_path)), "--note", "age wording"])
    assert result.exit_code == 0, result.output
    assert "imported as draft v1" in result.output
    out = tmp_path / "exported"
    result = runner.invoke(args=["rules", "export", "1", str(out)])
    assert result.exit_code == 0, result.output
    check = runner.invoke(args=["rules", "check", "--path", str(out)])
    assert check.exit_code == 0 and "rules OK" in check.output, check.output
    assert NEW_LABEL in (out / LABEL_FILE).read_text(encoding="utf-8")
    again = runner.invoke(args=["rules", "import", str(out)])
    assert again.exit_code == 0 and "draft v2" in again.output and "same content as v1" in again.output
    first, second = db.session.execute(select(RulesVersion).order_by(RulesVersion.number)).scalars().all()
    assert first.content_hash == second.content_hash == load_rules(out).version
    assert runner.invoke(args=["rules", "export", "1", str(out)]).exit_code != 0  # not into a full folder
    assert runner.invoke(args=["rules", "export", "9", str(tmp_path / "x")]).exit_code != 0

    assert runner.invoke(args=["rules", "publish", "2"]).exit_code == 0
    live = runner.invoke(args=["rules", "export", "live", str(tmp_path / "live")])
    assert live.exit_code == 0 and f"exported v2 ({len(FILES)} files)" in live.output, live.output
    listing = runner.invoke(args=["rules", "versions"]).output
    assert "*    v2  published" in listing and "     v1  draft" in listing, listing
    result = runner.invoke(args=["rules", "rollback"])
    assert result.exit_code == 0 and "the shipped rules files live now" in result.output, result.output
    assert "live: the shipped rules files" in runner.invoke(args=["rules", "versions"]).output
    db.session.expire_all()
    actors = db.session.execute(select(RulesAudit.action, RulesAudit.actor).order_by(RulesAudit.id)).all()
    assert [a for a, _ in actors] == ["import", "import", "publish", "rollback"]
    assert all(who.startswith("CLI (") for _, who in actors)


@pytest.mark.usefixtures("versions_cleared")
def test_cli_refuses_an_invalid_folder_with_the_loaders_errors(db_app, tmp_path):
    folder = edited_copy(tmp_path, old="id: desk_hours", new="id: desk_hours\n        colour: blue")
    (folder / "notes.yaml").write_text("x: 1\n", encoding="utf-8")
    result = db_app.test_cli_runner().invoke(args=["rules", "import", str(folder)])
    assert result.exit_code == 1
    assert "error: notes.yaml: unknown rule file" in result.output  # files first, as ``rules check``
    (folder / "notes.yaml").unlink()
    result = db_app.test_cli_runner().invoke(args=["rules", "import", str(folder)])
    assert result.exit_code == 1
    assert f"error: {LABEL_FILE}" in result.output and "colour" in result.output, result.output
    assert db.session.execute(select(RulesVersion)).first() is None
    assert db.session.execute(select(RulesAudit)).first() is None
    result = db_app.test_cli_runner().invoke(args=["rules", "publish", "1"])
    assert result.exit_code != 0 and "no rules version" in result.output


@pytest.mark.usefixtures("versions_cleared")
def test_cli_publish_of_an_invalid_draft_names_the_file(db_app, tmp_path):
    draft = import_draft(edited_copy(tmp_path))
    texts = {**draft.files, "booking.yaml": draft.files["booking.yaml"] + "\nsurprise: 1\n"}
    services.update_draft(draft, ACTOR, utcnow(), files=texts, check=False)
    db.session.commit()
    result = db_app.test_cli_runner().invoke(args=["rules", "publish", "1"])
    assert result.exit_code == 1 and "error: booking.yaml" in result.output and "surprise" in result.output
    assert services.live_version() is None


# --- other processes --------------------------------------------------------------------------

@pytest.mark.usefixtures("versions_cleared")
def test_a_worker_process_renders_with_the_live_version_after_a_publish(db_app, database_url, tmp_path):
    """Another app on the same database (a Celery worker's process) picks the publish up within its
    RULES_LIVE_TTL, and the emails it queues from then on record the published version."""
    from coachapp import create_app
    from coachapp.followups import services as followups

    lead = complete_assessment(DESK_ACHILLES, "dana@example.com")
    plan_email = db.session.execute(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id)).scalars().first()
    assert plan_email.rules_version == rules_store.files_rules().version
    steps = {s.step_id: s for s in db.session.execute(select(SequenceStep).where(SequenceStep.lead_id == lead.id))
             .scalars()}
    due = steps["drill_top_priority"].due_at
    worker = create_app(make_config(database_url, RULES_LIVE_TTL=3600))
    db_app.extensions["celery"].set_default()  # the test process's Celery app stays the default
    try:
        with worker.app_context():
            assert rules_store.get_rules().version == rules_store.files_rules().version
        draft = import_draft(edited_copy(tmp_path))
        services.publish(draft.id, ACTOR, utcnow())
        db.session.commit()
        # read in this app's context: an expired row of this session refreshed inside the worker's
        # context would check a connection out of the worker's pool and keep it past its dispose
        published = draft.content_hash
        with worker.app_context():  # within its TTL the worker still serves what it had (documented)
            assert rules_store.get_rules().version != published
        worker.config["RULES_LIVE_TTL"] = 0.2
        time.sleep(0.3)
        with worker.app_context():  # what the followups.sweep task runs, in the worker's app
            rules = rules_store.get_rules()
            assert rules.version == published
            assert rules.assessment.question("age_band").text == NEW_LABEL
            assert followups.sweep(rules, due + timedelta(seconds=1)) == {"queued": 1}
            db.session.remove()
    finally:
        dispose(worker)
    db.session.expire_all()
    drill = db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "sequence:assessment_nurture")
                               ).scalar_one()
    assert drill.rules_version == published != plan_email.rules_version


@pytest.mark.usefixtures("versions_cleared")
def test_a_broken_live_version_never_takes_the_site_down(db_app, tmp_path):
    draft = import_draft(edited_copy(tmp_path))
    services.publish(draft.id, ACTOR, utcnow())
    db.session.commit()
    # a stored version the code no longer accepts (e.g. after an upgrade): the files are served
    db.session.execute(RulesVersion.__table__.update().values(
        content_hash="sha256:0000000000000000",
        files={**draft.files, "booking.yaml": "surprise: 1\n"}))
    db.session.commit()
    rules_store.forget()
    assert rules_store.get_rules() is rules_store.files_rules()
