"""A replay a dead worker left "queued" or "running" does not stay stuck (issue 15.3, follow-up):
after ``STALE_MINUTES`` without progress the replay page offers "Run again", which marks the old
run failed with the reason and queues a new one of the same draft and size; the old worker, should
it wake, changes nothing; a run still making progress, or finished, is not run again.

As in test_rules_replay.py, the task goes to the test app's filesystem broker (no worker listens)
and is run by calling the task function in this process."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from coachapp import rules_store
from coachapp.extensions import db
from coachapp.models import RulesReplay, utcnow
from coachapp.rules_preview import replay
from coachapp.tasks.replay import run as replay_task
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_replay import store_submissions, threshold_draft
from tests.helpers_rules_versions import versions_cleared  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("versions_cleared")


def page_of(web, run_id: int) -> str:
    return html.unescape(re.sub(r"\s+", " ", web.get(f"/dashboard/rules/replays/{run_id}").get_data(as_text=True)))


def queued(web, number: int, n: str = "40") -> RulesReplay:
    web.get(f"/dashboard/rules/{number}/replay")
    assert web.post(f"/dashboard/rules/{number}/replay", {"n": n}).status_code == 302
    return db.session.execute(select(RulesReplay).order_by(RulesReplay.id.desc())).scalars().first()


def age(run_id: int, minutes: int, **columns) -> None:
    """Move the run's times ``minutes`` into the past (as if its worker died then)."""
    then = utcnow() - timedelta(minutes=minutes)
    db.session.execute(update(RulesReplay).where(RulesReplay.id == run_id)
                       .values(created_at=then, **{k: then for k in columns}))
    db.session.commit()
    db.session.expire_all()


def test_a_stuck_queued_run_is_run_again_and_the_old_one_says_why(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True, name="Rita Owner", email="rita@motive.example")
    store_submissions(rules_store.files_rules(), 40)
    draft = threshold_draft(tmp_path)
    web = sign_in(db_app, owner)
    run = queued(web, draft.number)
    assert "Run again" not in page_of(web, run.id)  # just queued: not stuck
    age(run.id, replay.STALE_MINUTES - 1)
    assert "Run again" not in page_of(web, run.id)
    age(run.id, replay.STALE_MINUTES + 1)
    page = page_of(web, run.id)
    assert "Run again" in page and f"No progress for over {replay.STALE_MINUTES} minutes" in page

    response = web.post(f"/dashboard/rules/replays/{run.id}/again", {})
    assert response.status_code == 302
    db.session.expire_all()
    old = db.session.get(RulesReplay, run.id)
    fresh = db.session.execute(select(RulesReplay).order_by(RulesReplay.id.desc())).scalars().first()
    assert response.headers["Location"].endswith(f"/dashboard/rules/replays/{fresh.id}")
    assert fresh.id != old.id and fresh.status == "queued"
    assert (fresh.draft_id, fresh.requested) == (old.draft_id, old.requested)
    assert old.status == "failed" and old.finished_at is not None
    assert old.error == (f"No progress for {replay.STALE_MINUTES + 1} minutes while queued (the worker probably "
                         f"stopped); run again as #{fresh.id}.")
    assert f"run again as #{fresh.id}" in page_of(web, old.id) and "Run again" not in page_of(web, old.id)

    # a second click (another tab) queues nothing more
    again = web.post(f"/dashboard/rules/replays/{old.id}/again", {})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/replays/{old.id}")
    assert f"Replay #{old.id} is failed." in page_of(web, old.id)
    assert db.session.execute(select(RulesReplay)).scalars().all().__len__() == 2
    # the old run, delivered late, is not run; the new one runs to the end
    assert replay_task(old.id) == "not queued"
    assert replay_task(fresh.id).endswith("of 40 changed")
    db.session.expire_all()
    assert db.session.get(RulesReplay, fresh.id).status == "done"
    assert db.session.get(RulesReplay, old.id).status == "failed"


def test_running_counts_from_the_last_progress_and_a_woken_worker_writes_nothing(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True, name="Rita Owner", email="rita@motive.example")
    draft = threshold_draft(tmp_path)
    web = sign_in(db_app, owner)
    run = queued(web, draft.number)
    db.session.execute(update(RulesReplay).where(RulesReplay.id == run.id).values(status="running"))
    db.session.commit()
    age(run.id, 30, started_at=True)
    db.session.execute(update(RulesReplay).where(RulesReplay.id == run.id)
                       .values(progress_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    db.session.expire_all()
    assert "Run again" not in page_of(web, run.id)  # started long ago, but still reporting
    refused = web.post(f"/dashboard/rules/replays/{run.id}/again", {})
    assert refused.status_code == 302 and "it is still making progress" in page_of(web, run.id)
    age(run.id, replay.STALE_MINUTES + 5, started_at=True, progress_at=True)
    assert "Run again" in page_of(web, run.id)
    assert web.post(f"/dashboard/rules/replays/{run.id}/again", {}).status_code == 302
    db.session.expire_all()
    old = db.session.get(RulesReplay, run.id)
    assert old.status == "failed" and "while running" in old.error

    replay._report(run.id, done=7, status="done")  # the old worker wakes up and reports
    db.session.expire_all()
    old = db.session.get(RulesReplay, run.id)
    assert old.status == "failed" and old.done == 0


def test_run_again_needs_the_owner_and_the_form_token(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True, name="Rita Owner", email="rita@motive.example")
    draft = threshold_draft(tmp_path)
    web = sign_in(db_app, owner)
    run = queued(web, draft.number)
    age(run.id, replay.STALE_MINUTES + 1)
    coach = sign_in(db_app, coach_with_password(db, name="Cole Coach", email="cole@motive.example"))
    coach.get("/dashboard/")  # a page with the form token
    assert coach.post(f"/dashboard/rules/replays/{run.id}/again", {}).status_code == 403
    assert web.client.post(f"/dashboard/rules/replays/{run.id}/again", data={}).status_code == 400  # no token
    assert web.post("/dashboard/rules/replays/999/again", {}).status_code == 404
    db.session.expire_all()
    assert db.session.get(RulesReplay, run.id).status == "queued"
