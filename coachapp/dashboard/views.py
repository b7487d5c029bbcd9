"""Today, the lead page and its actions, the pipeline board and the outbox."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from coachapp.dashboard import bp, timeline
from coachapp.dashboard import today as today_board
from coachapp.dashboard.access import lead_or_404, lead_scope
from coachapp.dashboard.templating import coach_time
from coachapp.emails import outbox
from coachapp.extensions import db
from coachapp.leads import actions, scheduling
from coachapp.leads.actions import ActionError
from coachapp.models import (
    SERVICES,
    STAGES,
    AssessmentSubmission,
    Booking,
    Coach,
    CoachTask,
    Enrollment,
    Lead,
    LeadEvent,
    OutboxMessage,
    SequenceStep,
    StrategyRequest,
    utcnow,
)
from coachapp.rules_store import files_rules, get_rules
from coachapp.rules_versions import services as rules_versions
from coachapp.textclean import has_controls


@bp.get("/")
def today() -> str:
    """The call list: overdue, due today, new and untouched, this week (dashboard/today.py)."""
    now = utcnow()
    return render_template("dashboard/today.html", board=today_board.board(current_user, now), now=now)


# --- the lead page ------------------------------------------------------------------------

@bp.post("/sessions/<int:booking_id>/outcome")
def session_outcome(booking_id: int) -> Response:
    """Attended → session held; no-show → no_show (which starts the no-show sequence)."""
    booking = db.get_or_404(Booking, booking_id)
    outcome = request.form.get("outcome", "")
    if outcome not in ("attended", "no_show"):
        abort(400)

    def run(lead, coach, now):
        try:
            scheduling.mark(get_rules(), booking, outcome, coach, now)
        except ValueError as exc:
            raise ActionError(str(exc)) from exc

    return _act(booking.lead_id, run, "Marked as attended." if outcome == "attended" else "Marked as a no-show.",
                "timeline", default=url_for(".today"))


@bp.get("/leads/<int:lead_id>")
def lead(lead_id: int) -> str | Response:
    coach = current_user
    if db.session.get(Lead, lead_id) is None:  # merged into another lead: its address leads there
        from coachapp.leads.merge import merged_into

        survivor = merged_into(lead_id)
        if survivor is not None:
            return redirect(url_for(".lead", lead_id=survivor))
    row = lead_or_404(coach, lead_id)
    assessments = db.session.execute(
        select(AssessmentSubmission).where(AssessmentSubmission.lead_id == row.id)
        .order_by(AssessmentSubmission.started_at.desc())
    ).scalars().all()
    requests = db.session.execute(
        select(StrategyRequest).where(StrategyRequest.lead_id == row.id).order_by(StrategyRequest.id.desc())
    ).scalars().all()
    events = db.session.execute(
        select(LeadEvent).where(LeadEvent.lead_id == row.id).order_by(LeadEvent.created_at.desc(), LeadEvent.id.desc())
    ).scalars().all()
    tasks = db.session.execute(
        select(CoachTask).where(CoachTask.lead_id == row.id).order_by(CoachTask.status != "open", CoachTask.due_at)
    ).scalars().all()
    emails = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.lead_id == row.id).order_by(OutboxMessage.id.desc())
    ).scalars().all()
    coaches = db.session.execute(select(Coach).where(Coach.active).order_by(Coach.name)).scalars().all()
    owner = db.session.get(Coach, row.owner_id) if row.owner_id else None
    enrollments = db.session.execute(
        select(Enrollment).where(Enrollment.lead_id == row.id).order_by(Enrollment.enrolled_at)).scalars().all()
    steps = db.session.execute(
        select(SequenceStep).where(SequenceStep.lead_id == row.id).order_by(SequenceStep.due_at)).scalars().all()
    rules = get_rules()
    hashes = [s.rules_version for s in assessments] + [m.rules_version for m in emails]
    return render_template(
        "dashboard/lead.html",
        rules_used=timeline.rules_used(hashes, rules_versions.by_hash(hashes), files_rules().version),
        lead=row, assessments=assessments, requests=requests, tasks=tasks, owner=owner,
        entries=timeline.build(events, emails, rules.sequences, coach_time), next_task=timeline.next_task(tasks),
        email_status=timeline.email_status(row), health_consent=timeline.health_consent(row, coach_time),
        tier_words=rules.leads.tier_in_words(row.tier), sequences={s.id: s for s in rules.sequences.sequences},
        step_label=partial(timeline.step_label, rules.sequences),
        coaches=coaches, stages=STAGES, services=SERVICES, now=utcnow(), enrollments=enrollments, steps=steps)


def _act(lead_id: int, action, success: str, anchor: str, default: str | None = None) -> Response:
    """Run one lead action for the signed-in coach, commit, and go back to where the action was
    (``anchor`` on the lead page, unless the form says where it came from)."""
    coach = current_user._get_current_object()
    row = lead_or_404(coach, lead_id)
    try:
        action(row, coach, utcnow())
    except ActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        outbox.commit()
        flash(success, "ok")
    return redirect(_back(default or url_for(".lead", lead_id=lead_id, _anchor=anchor)))


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    # form fields keep tab and line breaks (free text): never in a Location header
    return target if target.startswith("/dashboard/") and "//" not in target and not has_controls(target) \
        else default


@bp.post("/leads/<int:lead_id>/note")
def add_note(lead_id: int) -> Response:
    return _act(lead_id, lambda lead, coach, now: actions.add_note(lead, request.form.get("text", ""), coach, now),
                "Note added.", "timeline")


@bp.post("/leads/<int:lead_id>/stage")
def change_stage(lead_id: int) -> Response:
    stage = request.form.get("stage", "")
    return _act(lead_id, lambda lead, coach, now: actions.change_stage(get_rules(), lead, stage, coach, now),
                f"Moved to {stage.replace('_', ' ')}.", "actions")


@bp.post("/leads/<int:lead_id>/assign")
def assign(lead_id: int) -> Response:
    raw = request.form.get("coach_id", "").strip()
    # empty: nobody; an id a coach could have (9 ASCII digits at most, within INTEGER), else one
    # no coach has, which the action refuses with "Choose an active coach."
    coach_id = None if not raw else int(raw) if re.fullmatch(r"[1-9][0-9]{0,8}", raw) else 0
    return _act(lead_id, lambda lead, coach, now: actions.assign(get_rules(), lead, coach_id, coach, now),
                "Assignment saved.", "actions")


@bp.post("/leads/<int:lead_id>/replied")
def mark_replied(lead_id: int) -> Response:
    return _act(lead_id, lambda lead, coach, now: actions.mark_replied(get_rules(), lead, coach, now),
                "Marked as replied.", "actions")


@bp.post("/leads/<int:lead_id>/sequences/<sequence_id>")
def sequence_status(lead_id: int, sequence_id: str) -> Response:
    status = request.form.get("status", "")

    def run(lead, coach, now):
        from coachapp.followups.services import set_enrollment

        try:
            set_enrollment(get_rules(), lead, sequence_id, status, coach.name, now)
        except ValueError as exc:
            raise ActionError(str(exc)) from exc

    return _act(lead_id, run, f"Sequence {status.replace('active', 'resumed')}.", "sequences")


@bp.get("/leads/<int:lead_id>/export.json")
def export_lead(lead_id: int) -> Response:
    row = lead_or_404(current_user, lead_id)
    body = json.dumps(actions.export(row), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="lead-{row.id}.json"', "Cache-Control": "no-store"})


@bp.post("/leads/<int:lead_id>/erase")
def erase(lead_id: int) -> Response:
    row = lead_or_404(current_user, lead_id)
    if request.form.get("confirm", "").strip() != "ERASE":
        flash("Type ERASE to confirm.", "error")
        return redirect(url_for(".lead", lead_id=row.id))
    try:
        actions.erase(row, current_user, utcnow())
    except ActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".lead", lead_id=row.id))
    db.session.commit()
    flash(f"Lead {row.id}'s personal data was erased; an anonymous audit record is kept.", "ok")
    return redirect(url_for(".today"))


# --- tasks ----------------------------------------------------------------------------------

def _task_action(task_id: int, action, success: str) -> Response:
    try:
        action(current_user._get_current_object(), utcnow())
    except ActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(success, "ok")
    return redirect(_back(url_for(".today")))


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int) -> Response:
    return _task_action(task_id, lambda coach, now: actions.complete_task(task_id, coach, now), "Task done.")


@bp.post("/tasks/<int:task_id>/call")
def log_call(task_id: int) -> Response:
    outcome = request.form.get("outcome", "")
    return _task_action(task_id, lambda coach, now: actions.log_call(task_id, outcome, coach, now), "Call logged.")


@bp.post("/tasks/<int:task_id>/snooze")
def snooze_task(task_id: int) -> Response:
    raw = request.form.get("minutes", "")
    minutes = int(raw) if re.fullmatch(r"[0-9]{1,6}", raw) else 0  # "²".isdigit() too, and int() refuses it
    return _task_action(task_id, lambda coach, now: actions.snooze_task(task_id, minutes, coach, now), "Snoozed.")


@bp.post("/tasks/<int:task_id>/reschedule")
def reschedule_task(task_id: int) -> Response:
    def run(coach, now):
        try:
            local = datetime.fromisoformat(request.form.get("due", ""))
        except ValueError as exc:
            raise ActionError("Pick a date and time.") from exc
        try:
            due = local.replace(tzinfo=ZoneInfo(coach.time_zone)).astimezone(UTC)
        except OverflowError as exc:  # 9999-12-31 late in the day, west of UTC: past datetime.max
            raise ActionError("Pick a time within the next year.") from exc
        actions.reschedule_task(task_id, due, coach, now)

    return _task_action(task_id, run, "Rescheduled.")


# --- pipeline -------------------------------------------------------------------------------

PIPELINE_CARDS = 25


@bp.get("/pipeline")
def pipeline() -> str:
    coach = current_user
    scope = [lead_scope(coach), Lead.erased_at.is_(None)]
    counts = dict(db.session.execute(
        select(Lead.stage, func.count()).where(*scope).group_by(Lead.stage)).all())
    columns = []
    for stage in STAGES:
        leads = db.session.execute(
            select(Lead).where(*scope, Lead.stage == stage)
            .order_by(Lead.tier.nulls_last(), Lead.created_at.desc()).limit(PIPELINE_CARDS)
        ).scalars().all()
        columns.append({"stage": stage, "count": counts.get(stage, 0), "leads": leads})
    return render_template("dashboard/pipeline.html", columns=columns, stages=STAGES)
