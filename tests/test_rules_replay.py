"""Replay a draft on stored submissions (issue 15.3): exactly the runners whose outcome changes
(checked against evaluating both rule sets directly), zero for an identical draft, progress
committed while it runs, nothing written to leads, submissions or the outbox, and the pages:
owner only, CSRF, bad input answered with a message.

The task is published to the test app's filesystem broker (no worker listens there) and run by
calling the task function ``coachapp.tasks.replay.run`` in this process, as the import tests do.
"""

from __future__ import annotations

import html

import pytest
from sqlalchemy import event, func, select

from coachapp import rules_store
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, OutboxMessage, RulesReplay
from coachapp.rules_preview import replay
from coachapp.rules_versions import services
from coachapp.tasks.replay import run as replay_task
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_replay import expected_changes, identical_draft, store_submissions, threshold_draft
from tests.helpers_rules_versions import versions_cleared  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("versions_cleared")
COUNT = 300


@pytest.fixture
def owner(db_app):
    return coach_with_password(db, is_owner=True, name="Olive Owner", email="olive@motive.example")


def start(web, number: int, n: str = "1000"):
    web.get(f"/dashboard/rules/{number}/replay")
    return web.post(f"/dashboard/rules/{number}/replay", {"n": n})


def test_a_raised_threshold_reports_exactly_the_runners_whose_outcome_changes(db_app, owner, tmp_path):
    live = rules_store.files_rules()
    ids = store_submissions(live, COUNT)
    draft = threshold_draft(tmp_path)
    expected = expected_changes(live, services.load(draft), ids)
    assert 0 < len(expected) < COUNT, "the threshold change should move some runners, not all"

    web = sign_in(db_app, owner)
    response = start(web, draft.number)
    assert response.status_code == 302
    run = db.session.execute(select(RulesReplay)).scalar_one()
    assert run.status == "queued" and run.requested == 1000 and run.live_label == "shipped files"
    assert replay_task(run.id) == f"{len(expected)} of {COUNT} changed"
    assert replay_task(run.id) == "not queued"  # a second delivery does nothing

    db.session.expire_all()
    run = db.session.get(RulesReplay, run.id)
    assert run.status == "done" and run.done == run.total == COUNT
    reported = {c["s"]: set(c["c"]) for c in run.changes}
    assert reported == expected
    for category in ("top_priority", "safety", "plan", "tier"):
        assert run.summary[category] == sum(1 for cats in expected.values() if category in cats)
    assert run.summary["changed"] == len(expected) and run.summary["top_priority"] > 0

    page = html.unescape(web.get(f"/dashboard/rules/replays/{run.id}").get_data(as_text=True))
    assert f"<strong>{len(expected)}</strong> of {COUNT} runners would get a different outcome" in page
    assert f'<span id="count-top_priority">{run.summary["top_priority"]}</span>' in page
    some = next(c for c in run.changes if c["l"])
    assert f'href="/dashboard/leads/{some["l"]}"' in page and f"assessment #{some['s']}" in page
    tier_only = html.unescape(web.get(f"/dashboard/rules/replays/{run.id}?category=top_priority")
                              .get_data(as_text=True))
    assert f"{run.summary['top_priority']} runner" in tier_only
    progress = web.get(f"/dashboard/rules/replays/{run.id}/progress.json").get_json()
    assert progress["status"] == "done" and progress["done"] == COUNT
    assert progress["summary"]["changed"] == len(expected)


def test_an_identical_draft_changes_nobody(db_app, owner, tmp_path):
    store_submissions(rules_store.files_rules(), 120, seed=3)
    draft = identical_draft(tmp_path)
    web = sign_in(db_app, owner)
    assert start(web, draft.number, "100").status_code == 302
    run = db.session.execute(select(RulesReplay)).scalar_one()
    assert replay_task(run.id) == "0 of 100 changed"
    db.session.expire_all()
    page = html.unescape(web.get(f"/dashboard/rules/replays/{run.id}").get_data(as_text=True))
    assert "No difference:" in page and "all 100 runners" in page


def test_progress_is_committed_while_it_runs_and_nothing_else_is_written(db_app, owner, tmp_path, monkeypatch):
    live = rules_store.files_rules()
    ids = store_submissions(live, 230, seed=11)
    draft = threshold_draft(tmp_path)
    run = replay.start(draft, 1000, owner)
    db.session.commit()
    seen: list[tuple[str, int, int]] = []
    report = replay._report

    def watched(run_id: int, **values) -> None:
        report(run_id, **values)
        with db.engine.connect() as other:  # another connection: what the progress page reads
            row = other.execute(select(RulesReplay.status, RulesReplay.done, RulesReplay.total)
                                .where(RulesReplay.id == run_id)).one()
        seen.append(tuple(row))

    def counts():
        return [db.session.scalar(select(func.count()).select_from(t)) for t in (Lead, AssessmentSubmission,
                                                                                OutboxMessage)] + [
            db.session.scalar(select(func.max(Lead.updated_at))),
            db.session.scalar(select(func.max(AssessmentSubmission.updated_at)))]

    writes: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        head = statement.lstrip().split(None, 3)
        if head and head[0].upper() in ("INSERT", "UPDATE", "DELETE") and "rules_replays" not in statement:
            writes.append(statement[:80])

    monkeypatch.setattr(replay, "_report", watched)
    monkeypatch.setattr(replay, "BATCH", 50)
    before = counts()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = replay_task(run.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert writes == []
    assert counts() == before
    expected = expected_changes(live, services.load(draft), ids)
    assert result == f"{len(expected)} of 230 changed"
    assert seen[0] == ("running", 0, 230)
    assert [done for _, done, _ in seen[1:-1]] == [50, 100, 150, 200, 230]  # every batch, committed
    assert seen[-1] == ("done", 230, 230)


def test_only_the_owner_replays(db_app, owner, tmp_path):
    draft = threshold_draft(tmp_path)
    coach = coach_with_password(db, name="Cora Coach", email="cora@motive.example")
    run = replay.start(draft, 100, owner)
    db.session.commit()
    web = sign_in(db_app, coach)
    for url in (f"/dashboard/rules/{draft.number}/replay", f"/dashboard/rules/replays/{run.id}",
                f"/dashboard/rules/replays/{run.id}/progress.json", f"/dashboard/rules/{draft.number}/whatif",
                f"/dashboard/rules/{draft.number}/preview", f"/dashboard/rules/{draft.number}/preview/draft/email"):
        assert web.get(url).status_code == 403, url
    assert web.client.post(f"/dashboard/rules/{draft.number}/replay", data={"n": "100"}).status_code in (400, 403)
    assert db.session.scalar(select(func.count()).select_from(RulesReplay)) == 1


def test_bad_input_gets_a_message_not_a_500(db_app, owner, tmp_path):
    draft = threshold_draft(tmp_path)
    web = sign_in(db_app, owner)
    missing = web.get("/dashboard/rules/99/replay")
    assert missing.status_code == 404 and "No rules version v99" in missing.get_data(as_text=True)
    assert web.get("/dashboard/rules/99/whatif").status_code == 404
    assert web.get("/dashboard/rules/replays/12345").status_code == 404
    for bad, message in (("lots", "enter a whole number from 1 to 5,000"),
                         ("5001", "at most 5,000 can be replayed at once"), ("0", "at most 5,000")):
        response = start(web, draft.number, bad)
        assert response.status_code == 422, bad
        assert message in html.unescape(response.get_data(as_text=True)), bad
    web._fresh_request()
    no_token = web.client.post(f"/dashboard/rules/{draft.number}/replay", data={"n": "100"})
    assert no_token.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(RulesReplay)) == 0


def test_erasing_a_lead_takes_its_outcomes_out_of_the_replays(db_app, owner, tmp_path):
    store_submissions(rules_store.files_rules(), COUNT)
    draft = threshold_draft(tmp_path)
    run = replay.start(draft, 1000, owner)
    db.session.commit()
    replay_task(run.id)
    db.session.expire_all()
    run = db.session.get(RulesReplay, run.id)
    entry = next(c for c in run.changes if c["l"])
    before = dict(run.summary)
    web = sign_in(db_app, owner)
    web.get(f"/dashboard/leads/{entry['l']}")
    assert web.post(f"/dashboard/leads/{entry['l']}/erase", {"confirm": "ERASE"}).status_code == 302
    db.session.expire_all()
    run = db.session.get(RulesReplay, run.id)
    assert all(c["l"] != entry["l"] and c["s"] != entry["s"] for c in run.changes)
    assert run.summary == before and len(run.changes) == before["changed"]  # the counts stay true
    page = html.unescape(web.get(f"/dashboard/rules/replays/{run.id}").get_data(as_text=True))
    assert "An erased runner" in page and f"assessment #{entry['s']}<" not in page
