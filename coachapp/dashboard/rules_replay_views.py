"""Replay a draft (issue 15.3), owner only: start a replay of the last N submissions (the worker
runs ``rules.replay``), follow its progress (``progress.json``, polled by
static/progress.js; a Refresh link without it), then the counts per category and the
changed runners with before/after, each linked to its lead. A run a dead worker left queued or
running (no progress for ``replay.STALE_MINUTES``) offers "Run again". CSRF on the forms."""

from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from coachapp.celery_app import send_now
from coachapp.dashboard import bp
from coachapp.extensions import db
from coachapp.models import RulesReplay, RulesVersion, utcnow
from coachapp.rules_preview import replay
from coachapp.rules_preview.outcomes import CATEGORIES, CATEGORY_LABELS, plan_change
from coachapp.rules_versions import services

RUN_TASK = "rules.replay"
PAGE = 100


class ReplayForm(FlaskForm):
    pass


def missing_version(number: int) -> tuple[str, int]:
    return render_template("dashboard/rules_missing.html", number=number), 404


def _run_or_404(run_id: int) -> RulesReplay:
    run = db.session.get(RulesReplay, run_id)
    if run is None:
        abort(404)
    return run


def _page(draft: RulesVersion, form: ReplayForm, error: str | None = None, asked: str = "") -> str:
    return render_template("dashboard/rules_replays.html", draft=draft, form=form, error=error, asked=asked,
                           runs=replay.runs_of(draft), choices=replay.CHOICES, default=replay.DEFAULT_N,
                           live_label=replay.live_label_and_rules()[0], max_n=replay.MAX_N)


@bp.get("/rules/<int:number>/replay")
def rules_replays(number: int) -> str | tuple[str, int]:
    draft = services.by_number(number)
    if draft is None:
        return missing_version(number)
    return _page(draft, ReplayForm())


@bp.post("/rules/<int:number>/replay")
def rules_replay_start(number: int) -> Response | tuple[str, int]:
    draft = services.by_number(number)
    if draft is None:
        return missing_version(number)
    form = ReplayForm()
    if not form.validate_on_submit():
        return _page(draft, form, "The form expired; try again."), 400
    asked = request.form.get("n", "")
    try:
        run = replay.start(draft, replay.parse_n(asked), current_user)
    except replay.ReplayError as exc:
        db.session.rollback()
        return _page(draft, form, str(exc), asked), 422
    db.session.commit()
    return _hand_over(run)


def _hand_over(run: RulesReplay) -> Response:
    if not send_now(RUN_TASK, run.id):
        run.status, run.error = "failed", "The task queue could not be reached; nothing was replayed."
        db.session.commit()
        flash("The task queue cannot be reached right now; nothing was replayed. Try again in a minute.", "error")
    return redirect(url_for(".rules_replay", run_id=run.id))


@bp.post("/rules/replays/<int:run_id>/again")
def rules_replay_again(run_id: int) -> Response:
    """Run a stale replay again: the old one is marked failed with the reason, a new one is queued."""
    run = _run_or_404(run_id)
    if not ReplayForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for(".rules_replay", run_id=run.id))
    try:
        fresh = replay.rerun(run.id, current_user, utcnow())
    except replay.ReplayError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".rules_replay", run_id=run_id))
    db.session.commit()
    flash(f"Replay #{run_id} had stopped; it runs again as #{fresh.id}.", "ok")
    return _hand_over(fresh)


@bp.get("/rules/replays/<int:run_id>")
def rules_replay(run_id: int) -> str:
    run = _run_or_404(run_id)
    draft = db.session.get(RulesVersion, run.draft_id)
    category = request.args.get("category", "")
    category = category if category in CATEGORIES else ""
    rows = [c for c in run.changes if not category or category in c["c"]]
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(rows) // PAGE))
    page = min(page, pages)
    names, regions = _names(run) if run.status == "done" else ({}, {})
    shown = [(c, plan_change(c["b"]["plan"], c["a"]["plan"], names) if "plan" in c["c"] and c["b"] else "")
             for c in rows[(page - 1) * PAGE: page * PAGE]]
    return render_template("dashboard/rules_replay.html", run=run, draft=draft, category=category, form=ReplayForm(),
                           stale=replay.is_stale(run, utcnow()), stale_minutes=replay.STALE_MINUTES,
                           categories=CATEGORIES, labels=CATEGORY_LABELS, shown=shown, matching=len(rows),
                           page=page, pages=pages, regions=regions)


def _names(run: RulesReplay) -> tuple[dict[str, str], dict[str, str]]:
    """Exercise id → name and region id → label, from both rule sets (ids when one is gone)."""
    try:
        both = replay.rules_of(run)
    except LookupError:  # a version deleted since: ids are shown instead of names
        return {}, {}
    return ({k: e.name for rules in both for k, e in rules.exercises.items()},
            {r.id: r.label for rules in both for r in rules.regions.regions})


@bp.get("/rules/replays/<int:run_id>/progress.json")
def rules_replay_progress(run_id: int) -> Response:
    run = _run_or_404(run_id)
    return jsonify(status=run.status, done=run.done, total=run.total, summary=run.summary)
