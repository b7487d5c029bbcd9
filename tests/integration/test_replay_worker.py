"""The rules replay in a real Celery worker process (embedded: SQLite + filesystem broker;
services: PostgreSQL + Redis): started from the owner's page (which publishes ``rules.replay``),
run by the worker, progress and outcome read back through ``progress.json``; 1,000 stored
submissions finish in seconds and nothing but the replay's own row is written."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from coachapp import rules_store
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, OutboxMessage, RulesReplay
from coachapp.rules_versions import services
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_replay import expected_changes, store_submissions, threshold_draft
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def test_a_worker_replays_a_thousand_submissions_in_seconds(stack, tmp_path):
    with stack.app.app_context():
        owner = coach_with_password(db, is_owner=True, name="Olive Owner", email="olive@motive.example")
        live = rules_store.files_rules()
        ids = store_submissions(live, 1000, seed=21)
        draft = threshold_draft(tmp_path)
        expected = expected_changes(live, services.load(draft), ids)
        counts = [db.session.scalar(select(func.count()).select_from(t))
                  for t in (Lead, AssessmentSubmission, OutboxMessage)]
        stack.start_worker()
        web = sign_in(stack.app, owner)
        web.get(f"/dashboard/rules/{draft.number}/replay")
        response = web.post(f"/dashboard/rules/{draft.number}/replay", {"n": "1000"})
        assert response.status_code == 302
        run_id = int(response.headers["Location"].rsplit("/", 1)[1])
        started = time.monotonic()

        def finished() -> bool:
            return web.get(f"/dashboard/rules/replays/{run_id}/progress.json").get_json()["status"] in ("done",
                                                                                                      "failed")

        assert wait_until(finished, timeout=90, interval=0.5)
        progress = web.get(f"/dashboard/rules/replays/{run_id}/progress.json").get_json()
        assert progress["status"] == "done" and progress["done"] == progress["total"] == 1000
        assert progress["summary"]["changed"] == len(expected)
        db.session.expire_all()
        run = db.session.get(RulesReplay, run_id)
        assert {c["s"]: set(c["c"]) for c in run.changes} == expected
        assert run.summary["seconds"] < 10, run.summary  # the worker's own time for 1,000
        print(f"replay of 1,000 in the worker: {run.summary['seconds']} s of work, "
              f"{time.monotonic() - started:.1f} s from the click to done (polling included)")
        assert [db.session.scalar(select(func.count()).select_from(t))
                for t in (Lead, AssessmentSubmission, OutboxMessage)] == counts
