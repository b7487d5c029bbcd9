"""The owner's Rules pages (issue 15): the versions (the live one marked), a version's files and
problems, publish (after a confirmation page), roll back in one click, the audit log and a
compare view (two versions, or a version and the shipped files → a unified diff per file).
Owner only (a coach gets a 403, as on Coaches and Webhooks); CSRF on every form."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField

from coachapp.assessment import RulesError
from coachapp.dashboard import bp
from coachapp.extensions import db
from coachapp.models import RulesVersion, utcnow
from coachapp.rules_store import files_rules
from coachapp.rules_versions import services
from coachapp.rules_versions.services import FILES, Actor, VersionError

MAX_DIFF_LINES = 4000  # per page: a diff of every file rewritten would still be readable


class PublishForm(FlaskForm):
    pass


class RollbackForm(FlaskForm):
    expected_live = HiddenField()


def _version_or_404(number: int) -> RulesVersion:
    version = services.by_number(number)
    if version is None:
        abort(404)
    return version


@bp.get("/rules")
def rules_versions() -> str:
    live = services.live_version()
    form = RollbackForm(expected_live=str(live.id) if live else "")
    rows = services.versions()
    return render_template("dashboard/rules_versions.html", versions=rows, by_id={v.id: v for v in rows}, live=live,
                           back_to=services.rollback_target(live), form=form, audit=services.audit_log(100),
                           files_hash=files_rules().version, ttl=current_app.config["RULES_LIVE_TTL"])


@bp.get("/rules/<int:number>")
def rules_version(number: int) -> str:
    version = _version_or_404(number)
    problems = services.problems(version) if version.status == "draft" else []
    return render_template("dashboard/rules_version.html", version=version, problems=problems,
                           live=services.live_version(), based_on=db.session.get(RulesVersion, version.based_on_id)
                           if version.based_on_id else None)


@bp.route("/rules/<int:number>/publish", methods=["GET", "POST"])
def rules_publish(number: int) -> Response | tuple[str, int]:
    version = _version_or_404(number)
    form = PublishForm()
    problems: list[str] = []
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.publish(version.id, Actor.coach(current_user), utcnow())
        except RulesError as exc:
            db.session.rollback()
            problems, status = exc.errors, 422
        except VersionError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".rules_version", number=number))
        else:
            db.session.commit()
            flash(f"{version.label} is live. Every page and email uses it within "
                  f"{current_app.config['RULES_LIVE_TTL']:g} seconds.", "ok")
            return redirect(url_for(".rules_versions"))
    elif request.method == "POST":
        status = 400
    else:
        problems = services.problems(version) if version.status == "draft" else []
    live = services.live_version()
    old = str(live.number) if live else FILES
    diffs = services.compare(old, str(version.number))[2] if not problems else []
    copy_diffs = services.compare_copy(old, str(version.number)) if not problems else []
    return render_template("dashboard/rules_publish.html", version=version, live=live, form=form,
                           problems=problems, diffs=diffs, copy_diffs=copy_diffs), status


@bp.post("/rules/rollback")
def rules_rollback() -> Response:
    form = RollbackForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        expected = int(form.expected_live.data or 0) or None
        left, back = services.rollback(Actor.coach(current_user), utcnow(), expected_live=expected)
    except ValueError as exc:  # VersionError, PublishConflict, or a tampered id
        db.session.rollback()
        flash(str(exc) if isinstance(exc, VersionError) else "Nothing rolled back: reload the page.", "error")
    except RulesError as exc:
        db.session.rollback()
        flash("The version to go back to no longer loads: " + "; ".join(exc.errors[:5]), "error")
    else:
        db.session.commit()
        flash(f"Rolled back from {left.label}: {back.label if back else 'the shipped rules files'} "
              f"{'is' if back else 'are'} live.", "ok")
    return redirect(url_for(".rules_versions"))


@bp.get("/rules/compare")
def rules_compare() -> tuple[str, int]:
    rows = services.versions()
    live = next((v for v in rows if v.status == "published"), None)
    old = request.args.get("a") or (str(live.number) if live else FILES)
    new = request.args.get("b") or (str(rows[0].number) if rows else FILES)
    try:
        old_label, new_label, diffs = services.compare(old, new)
        copy_diffs = services.compare_copy(old, new)
    except VersionError as exc:
        return render_template("dashboard/rules_compare.html", versions=rows, old=old, new=new, error=str(exc),
                               diffs=[], copy_diffs=[], old_label="", new_label=""), 404
    shown, budget = [], MAX_DIFF_LINES
    for d in diffs:
        shown.append((d, d.lines[:budget] if budget > 0 else ()))
        budget -= len(d.lines)
    return render_template("dashboard/rules_compare.html", versions=rows, old=old, new=new, error=None,
                           diffs=shown, copy_diffs=copy_diffs, old_label=old_label, new_label=new_label), 200
