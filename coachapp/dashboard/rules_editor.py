"""The owner's editor (issue 15.2): change question texts and their order, email subjects and
opening copy, sequence delays and send windows, priority points, tier bands and tier actions —
always in a draft, published through the Rules pages' publish flow.

Every save runs the real loader on the draft's texts (``update_draft(check=False)``): a draft with
problems is saved and cannot be published; each problem is shown next to its field and all of
them at the top. Owner only (a coach gets a 403: ``access.OWNER_ONLY``, checked in the blueprint); CSRF on
every form.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from coachapp.assessment import RulesError
from coachapp.dashboard import bp
from coachapp.extensions import db
from coachapp.models import RulesAudit, RulesVersion, utcnow
from coachapp.rules_versions import changes, copy_text, edits, services
from coachapp.rules_versions.services import Actor, VersionError

AREAS = {
    "questions": ("Questions", "Question texts, help, option labels and the order of questions within a section."),
    "emails": ("Emails", "Subjects and opening copy of the emails prospects get."),
    "sequences": ("Follow-up timing", "Delays of each sequence step and the send windows."),
    "priority": ("Lead priority", "Points of each scoring rule, the tier bands and the suggested action per tier."),
}


class EditorForm(FlaskForm):
    pass


def _draft_or_redirect(number: int) -> RulesVersion | Response:
    version = services.by_number(number)
    if version is None:
        abort(404)
    if version.status != "draft":
        flash(f"{version.label} is {'live' if version.status == 'published' else version.status}: "
              "only a draft can be edited. Start a new draft from the live version.", "error")
        return redirect(url_for(".rules_editor"))
    return version


def _all_problems(version: RulesVersion) -> list[str]:
    return services.problems(version) + copy_text.problems(version.copy or {})


@bp.get("/rules/edit")
def rules_editor() -> str:
    drafts = [v for v in services.versions() if v.status == "draft"]
    return render_template("dashboard/rules_edit_start.html", drafts=drafts, live=services.live_version(),
                           form=EditorForm())


@bp.post("/rules/edit/new")
def rules_edit_new() -> Response:
    if not EditorForm().validate_on_submit():
        abort(400)
    live = services.live_version()
    _label, texts = services.texts_of("live")
    note = f"Edited in the browser, from {live.label if live else 'the shipped files'}"
    try:
        version = services.create_draft(texts, Actor.coach(current_user), utcnow(), based_on=live, action="create",
                                        note=note)
        version.copy = dict(live.copy or {}) if live else {}  # the live email copy, to edit further
        db.session.commit()
    except (RulesError, VersionError) as exc:
        db.session.rollback()
        flash(str(exc) if isinstance(exc, VersionError) else "The live rules do not load: "
              + "; ".join(exc.errors[:5]), "error")
        return redirect(url_for(".rules_editor"))
    flash(f"{version.label} is a new draft. Nothing changes for prospects until you publish it.", "ok")
    return redirect(url_for(".rules_edit", number=version.number))


@bp.get("/rules/<int:number>/edit")
def rules_edit(number: int) -> str | Response:
    version = _draft_or_redirect(number)
    if isinstance(version, Response):
        return version
    history = db.session.query(RulesAudit).filter(RulesAudit.version_id == version.id).order_by(
        RulesAudit.id.desc()).limit(50).all()
    return render_template("dashboard/rules_edit.html", version=version, areas=AREAS,
                           problems=_all_problems(version), history=history)


@bp.route("/rules/<int:number>/edit/emails", methods=["GET", "POST"])
def rules_edit_emails(number: int) -> tuple[str, int] | Response:
    version = _draft_or_redirect(number)
    if isinstance(version, Response):
        return version
    form, status = EditorForm(), 200
    copy = dict(version.copy or {})
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        for name in copy_text.EMAILS:
            subject = request.form.get(f"{name}.subject", "")[:copy_text.MAX_SUBJECT * 2]
            body = request.form.get(f"{name}.body", "").replace("\r\n", "\n")[:copy_text.MAX_BODY * 2]
            if subject.strip() or body.strip():
                copy[name] = {"subject": subject.strip(), "body": body.strip()}
            else:
                copy.pop(name, None)
        if copy != (version.copy or {}):
            services.update_draft(version, Actor.coach(current_user), utcnow(), copy=copy, check=False,
                                  fields=changes.copy_changes(version.copy or {}, copy))
            db.session.commit()
            flash(f"Saved in {version.label}." + (" It cannot be published until the problems below are fixed."
                                                  if _all_problems(version) else ""), "ok")
    field_problems = {name: copy_text.check(name, str(e.get("subject", "")), str(e.get("body", "")))
                      for name, e in copy.items() if isinstance(e, dict)}
    problems = _all_problems(version)
    if request.method == "POST" and problems:
        status = 422
    return render_template("dashboard/rules_edit_emails.html", version=version, emails=copy_text.EMAILS,
                           copy=copy, field_problems=field_problems, problems=problems, form=form), status


@bp.route("/rules/<int:number>/edit/<area>", methods=["GET", "POST"])
def rules_edit_area(number: int, area: str) -> tuple[str, int] | Response:
    if area not in edits.AREAS:
        abort(404)
    version = _draft_or_redirect(number)
    if isinstance(version, Response):
        return version
    form, status, errors, submitted = EditorForm(), 200, {}, {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        submitted = {k: v for k, v in request.form.items() if k not in ("csrf_token", "move")}
        texts, moved = version.files, []
        try:
            texts, errors = edits.apply(version.files, area, submitted)
            move = request.form.get("move", "")
            if move:
                question, _, direction = move.rpartition(":")
                texts = edits.move_question(texts, question, direction)
                moved = [f"assessment: question {question} moved {direction}"]
        except edits.EditError as exc:  # the values above are still saved
            errors["_form"] = str(exc)
        if texts != version.files:
            words = [c.words for c in changes.field_changes(version.files, texts)] + moved
            found = services.update_draft(version, Actor.coach(current_user), utcnow(), files=texts, check=False,
                                          fields=words)
            db.session.commit()
            flash(f"Saved in {version.label}." + (" It cannot be published until the problems below are fixed."
                                                  if found else ""), "ok")
        submitted = {k: v for k, v in submitted.items() if k in errors}  # show what could not be saved
    try:
        shown = edits.fields(version.files, area)
    except edits.EditError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".rules_edit", number=number))
    problems = _all_problems(version)
    by_key, _rest = edits.place(problems, shown)
    for key, message in errors.items():
        by_key.setdefault(key, []).insert(0, message)
    if request.method == "POST" and (problems or errors):
        status = 422
    groups: dict[str, list[edits.Field]] = {}
    for f in shown:
        groups.setdefault(f.group, []).append(f)
    return render_template("dashboard/rules_edit_area.html", version=version, area=area, title=AREAS[area][0],
                           groups=groups, by_key=by_key, submitted=submitted, problems=problems,
                           form_error=errors.get("_form"), form=form), status
