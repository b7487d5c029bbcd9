"""Fits kept as rows (issue 14.3): ask for one, run it in the worker, read the last one done.

At 100,000 leads a fit takes several seconds (docs/benchmarks.md, "Priority weights fit"),
too long for a request, so the owner's page shows the **last fit done** for the chosen leads
and "Fit now" queues a new one for the worker (``priority.fit``, a thin task calling ``run``).
``flask priority fit`` computes in the foreground and keeps its result the same way. A stored
fit remembers the rules version it was computed against: once the rules change, its diff is
no longer offered.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from coachapp import rules_store
from coachapp.extensions import db
from coachapp.leads.weights import result_from_dict, result_to_dict
from coachapp.leads.weights_outcomes import OutcomeCounts, WeightsReport, fit_from_outcomes, priority_yaml
from coachapp.models import Coach, WeightFit, utcnow
from coachapp.rules_versions.services import by_hash

FIT_TASK = "priority.fit"
PRIORITY_FILE = "leads/priority.yaml"
SHIPPED = "the shipped files (rules/)"


def report_to_dict(report: WeightsReport, source: str = SHIPPED) -> dict[str, Any]:
    return {"fit": result_to_dict(report.fit), "counts": asdict(report.counts), "source": source}


def priority_text(rules, rules_dir: str) -> tuple[str, str]:
    """The text of ``leads/priority.yaml`` the rules in use were loaded from, and where it lives:
    the shipped folder, or the rules version (issue 15) that is live. The diff is of that text."""
    if rules_store.files_rules().version != rules.version:
        version = by_hash([rules.version]).get(rules.version)
        if version is not None and PRIORITY_FILE in version.files:
            return version.files[PRIORITY_FILE], f"rules version {version.label}"
    return priority_yaml(rules_dir), SHIPPED


def report_of(fit: WeightFit) -> WeightsReport | None:
    """The stored report of a fit that is done (None otherwise)."""
    if fit.status != "done" or not fit.report:
        return None
    try:
        return WeightsReport(fit=result_from_dict(fit.report["fit"]), counts=OutcomeCounts(**fit.report["counts"]),
                             diff=fit.diff or "", since=fit.since, decided_after_days=fit.decided_after_days)
    except (KeyError, TypeError):  # stored by an older version of this code: as if there were none
        return None


def queue_fit(by: Coach | None, since: date | None, decided_after_days: int, now: datetime) -> WeightFit:
    """A queued fit (flushed: the caller commits, then publishes ``FIT_TASK`` with its id)."""
    fit = WeightFit(created_at=now, created_by_id=by.id if by else None, created_by=by.name if by else "system",
                    since=since, decided_after_days=decided_after_days, status="queued")
    db.session.add(fit)
    db.session.flush()
    return fit


def _same(since: date | None, decided_after_days: int) -> list[Any]:
    return [WeightFit.since.is_(None) if since is None else WeightFit.since == since,
            WeightFit.decided_after_days == decided_after_days]


def latest_done(since: date | None, decided_after_days: int) -> WeightFit | None:
    return db.session.execute(select(WeightFit).where(WeightFit.status == "done", *_same(since, decided_after_days))
                              .order_by(WeightFit.id.desc()).limit(1)).scalar_one_or_none()


def pending(since: date | None, decided_after_days: int) -> WeightFit | None:
    """The newest fit for these leads asked for after the last one done: queued, running or
    failed (the page says which), or None."""
    done = latest_done(since, decided_after_days)
    query = select(WeightFit).where(WeightFit.status != "done", *_same(since, decided_after_days))
    if done is not None:
        query = query.where(WeightFit.id > done.id)
    return db.session.execute(query.order_by(WeightFit.id.desc()).limit(1)).scalar_one_or_none()


def _compute(fit: WeightFit, rules, rules_dir: str) -> WeightsReport:
    start = time.perf_counter()
    text, source = priority_text(rules, rules_dir)
    report = fit_from_outcomes(rules, text, utcnow(), fit.since, fit.decided_after_days)
    fit.status, fit.rules_version, fit.diff = "done", rules.version, report.diff
    fit.report = report_to_dict(report, source)
    fit.seconds, fit.finished_at = round(time.perf_counter() - start, 3), utcnow()
    return report


def run(fit_id: int, rules, rules_dir: str) -> str:
    """The task's body: claim the queued fit (a second delivery claims nothing), fit, store."""
    claimed = db.session.execute(update(WeightFit).where(WeightFit.id == fit_id, WeightFit.status == "queued")
                                 .values(status="running", started_at=utcnow()))
    db.session.commit()
    if claimed.rowcount != 1:
        return "not queued"
    fit = db.session.get(WeightFit, fit_id)
    try:
        _compute(fit, rules, rules_dir)
    except Exception as exc:
        db.session.rollback()
        fit = db.session.get(WeightFit, fit_id)
        fit.status, fit.error, fit.finished_at = "failed", f"{type(exc).__name__}: {exc}"[:2000], utcnow()
        db.session.commit()
        raise
    db.session.commit()
    return "done"


def fit_now(rules, rules_dir: str, since: date | None, decided_after_days: int,
            by_name: str) -> tuple[WeightsReport, str]:
    """Fit in the foreground (the CLI) and keep the result like a worker's fit; the report and
    where the ``priority.yaml`` it proposes a diff of lives."""
    fit = WeightFit(created_by=by_name, since=since, decided_after_days=decided_after_days, status="running",
                    started_at=utcnow())
    db.session.add(fit)
    report = _compute(fit, rules, rules_dir)
    db.session.commit()
    return report, fit.report["source"]
