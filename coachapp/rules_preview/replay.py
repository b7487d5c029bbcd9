"""Replay: the last N completed submissions under a draft and under the live rules (issue 15.3).

``start`` writes a queued run (the view commits and hands its id to the worker); ``run`` (the
Celery task ``rules.replay``) claims it, loads both ``Rules`` once (the per-process cache by
content hash), reads the submissions set-based in batches — only the columns the outcome needs,
with the lead's stage, replies and latest strategy-session answers — evaluates each under both,
commits the progress after every batch and writes the summary and the changed runners once.

A run a dead worker left "queued" or "running" (no progress for ``STALE_MINUTES``) can be run
again (``rerun``): it is marked failed with the reason and a new run is queued; the old worker,
should it wake, reports nothing more (progress is written only while the row is "running").

It reads submissions, leads and requests and writes only its own ``rules_replays`` row: nothing
a runner or coach sees changes. Each submission is scored as of the day it was completed (the
race countdown then), the same day under both rule sets, so only the rules differ.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from coachapp import rules_store
from coachapp.assessment import Rules
from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Coach, Lead, RulesReplay, RulesVersion, StrategyRequest, utcnow
from coachapp.rules_preview.outcomes import CATEGORIES, LeadContext, changed, outcome
from coachapp.rules_versions import services

logger = logging.getLogger(__name__)

CHOICES = (100, 1000, 5000)
DEFAULT_N = 1000
MAX_N = 5000
BATCH = 500
FILES_LABEL = "shipped files"
STALE_MINUTES = 10  # no progress for this long: the worker that had the run is taken to be gone


class ReplayError(ValueError):
    """A replay that cannot be started; the message says why, in the owner's words."""


def parse_n(raw: Any) -> int:
    """The number of submissions asked for (a whole number from 1 to ``MAX_N``)."""
    text = str(raw if raw is not None else "").strip().replace(",", "")
    if not text:
        return DEFAULT_N
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is True, and int() refuses it
        raise ReplayError(f"How many submissions: enter a whole number from 1 to {MAX_N:,}.")
    n = int(text) if len(text) <= 9 else MAX_N + 1  # int() refuses over 4,300 digits
    if not 1 <= n <= MAX_N:
        raise ReplayError(f"How many submissions: at most {MAX_N:,} can be replayed at once (and at least 1).")
    return n


def live_label_and_rules() -> tuple[str, Rules]:
    """What the draft is compared with: the live version, or the shipped files when none is."""
    live = services.live_version()
    if live is None:
        return FILES_LABEL, rules_store.files_rules()
    return live.label, services.load(live)


def start(draft: RulesVersion, n: int, coach: Coach) -> RulesReplay:
    """A queued replay of ``draft`` against the live rules (``ReplayError`` when it cannot run)."""
    if draft.status == "published":
        raise ReplayError(f"{draft.label} is the live version: there is nothing to compare it with.")
    problems = services.problems(draft)
    if problems:
        raise ReplayError(f"{draft.label} does not load, so it cannot be replayed: {problems[0]}")
    label, live = live_label_and_rules()
    run = RulesReplay(draft_id=draft.id, live_label=label, live_hash=live.version, draft_hash=draft.content_hash,
                      requested=n, status="queued", total=0, done=0, summary={}, changes=[],
                      created_by_id=coach.id, created_by=f"{coach.name} <{coach.email}>", created_at=utcnow())
    db.session.add(run)
    db.session.flush()
    return run


def rules_of(run: RulesReplay) -> tuple[Rules, Rules]:
    """(live, draft) as they were when the run was queued (by content hash; cached per process)."""
    return _by_hash(run.live_hash), _by_hash(run.draft_hash)


def _by_hash(content_hash: str) -> Rules:
    files = rules_store.files_rules()
    if files.version == content_hash:
        return files
    version = services.by_hash([content_hash]).get(content_hash)
    if version is None:
        raise LookupError(f"no rules version with content {content_hash}")
    return services.load(version)


def _report(run_id: int, **values: Any) -> None:
    """Progress, committed at once so the page (another connection) sees it; only while the run is
    "running" (a run given up on as stale and run again stays failed)."""
    db.session.execute(update(RulesReplay).where(RulesReplay.id == run_id, RulesReplay.status == "running")
                       .values(progress_at=utcnow(), **values))
    db.session.commit()


def last_progress(run: RulesReplay) -> datetime:
    return run.progress_at or run.started_at or run.created_at


def is_stale(run: RulesReplay, now: datetime) -> bool:
    """Queued or running with no progress for over ``STALE_MINUTES``: left by a dead worker."""
    return run.status in ("queued", "running") and now - last_progress(run) > timedelta(minutes=STALE_MINUTES)


def rerun(run_id: int, coach: Coach, now: datetime) -> RulesReplay:
    """Give up on a stale run (failed, with the reason) and queue a new one of the same draft and N
    (``ReplayError`` when the run is not stale: it finished, failed, or is still making progress)."""
    run = db.session.execute(select(RulesReplay).where(RulesReplay.id == run_id).with_for_update()).scalar_one()
    if not is_stale(run, now):
        raise ReplayError(f"Replay #{run.id} is {run.status}"
                          + (": it is still making progress." if run.status in ("queued", "running") else "."))
    draft = db.session.get(RulesVersion, run.draft_id)
    fresh = start(draft, run.requested, coach)
    minutes = int((now - last_progress(run)).total_seconds() // 60)
    run.error = (f"No progress for {minutes} minutes while {run.status} (the worker probably stopped); "
                 f"run again as #{fresh.id}.")
    run.status, run.finished_at = "failed", now
    return fresh


def recent_ids(n: int) -> list[int]:
    """The last ``n`` completed submissions, newest first."""
    return list(db.session.execute(
        select(AssessmentSubmission.id).where(AssessmentSubmission.status == "completed",
                                              AssessmentSubmission.completed_at.is_not(None))
        .order_by(AssessmentSubmission.completed_at.desc(), AssessmentSubmission.id.desc()).limit(n)).scalars())


def rows(ids: Sequence[int]) -> Iterator[tuple[int, int | None, dict[str, Any], Any, LeadContext]]:
    """(submission id, lead id, answers, completed at, lead context) for ``ids``, one batch read."""
    found = db.session.execute(
        select(AssessmentSubmission.id, AssessmentSubmission.lead_id, AssessmentSubmission.answers,
               AssessmentSubmission.completed_at, Lead.stage, Lead.replied_at)
        .outerjoin(Lead, Lead.id == AssessmentSubmission.lead_id)
        .where(AssessmentSubmission.id.in_(ids))).all()
    lead_ids = {r.lead_id for r in found if r.lead_id is not None}
    latest_request: dict[int, dict[str, Any]] = {}
    if lead_ids:
        for lead_id, answers in db.session.execute(
                select(StrategyRequest.lead_id, StrategyRequest.answers)
                .where(StrategyRequest.lead_id.in_(lead_ids)).order_by(StrategyRequest.id)):
            latest_request[lead_id] = answers or {}  # the latest wins
    for r in found:
        context = LeadContext(stage=r.stage or "new", replied=r.replied_at is not None,
                              request_answers=latest_request.get(r.lead_id) if r.lead_id is not None else None)
        yield r.id, r.lead_id, r.answers or {}, r.completed_at, context


def compare_batch(live: Rules, draft: Rules, batch: Sequence[int]) -> list[dict[str, Any]]:
    """The changed runners among ``batch`` (compact records, see ``RulesReplay.changes``)."""
    out = []
    for sub_id, lead_id, answers, completed_at, context in rows(batch):
        today = completed_at.astimezone(UTC).date() if completed_at.tzinfo else completed_at.date()
        before, after = outcome(live, answers, today, context), outcome(draft, answers, today, context)
        categories = changed(before, after)
        if categories:
            out.append({"s": sub_id, "l": lead_id, "c": list(categories), "b": before.brief(), "a": after.brief()})
    return out


def summarise(changes: Sequence[dict[str, Any]], total: int, seconds: float) -> dict[str, Any]:
    counts = {c: sum(1 for entry in changes if c in entry["c"]) for c in CATEGORIES}
    return {"total": total, "changed": len(changes), **counts, "seconds": round(seconds, 2)}


def run(run_id: int) -> str:
    """The replay itself (the task ``rules.replay``). A second delivery claims nothing."""
    report, batch_size = _report, BATCH
    started = utcnow()
    claimed = db.session.execute(update(RulesReplay).where(RulesReplay.id == run_id, RulesReplay.status == "queued")
                                 .values(status="running", started_at=started, progress_at=started)).rowcount
    db.session.commit()
    if not claimed:
        return "not queued"
    clock = time.perf_counter()
    try:
        replay = db.session.get(RulesReplay, run_id)
        live, draft = rules_of(replay)
        ids = recent_ids(replay.requested)
        report(run_id, total=len(ids), done=0)
        changes: list[dict[str, Any]] = []
        for start_at in range(0, len(ids), batch_size):
            batch = ids[start_at:start_at + batch_size]
            changes += compare_batch(live, draft, batch)
            db.session.rollback()  # nothing was written; end the read transaction before the report
            report(run_id, done=start_at + len(batch))
        changes.sort(key=lambda entry: -entry["s"])
        summary = summarise(changes, len(ids), time.perf_counter() - clock)
        report(run_id, status="done", summary=summary, changes=changes, finished_at=utcnow())
    except Exception as exc:
        db.session.rollback()
        _report(run_id, status="failed", error=f"{type(exc).__name__}: the replay stopped", finished_at=utcnow())
        logger.exception("Replay %s failed", run_id)
        raise
    return f"{summary['changed']} of {summary['total']} changed"


def runs_of(draft: RulesVersion, limit: int = 10) -> list[RulesReplay]:
    return list(db.session.execute(select(RulesReplay).where(RulesReplay.draft_id == draft.id)
                                   .order_by(RulesReplay.id.desc()).limit(limit)).scalars())
