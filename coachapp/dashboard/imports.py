"""Import leads from a CSV file (owner only): upload → preview and mapping → dry run → import.

The import itself runs in the worker (``imports.run``); the job page shows its progress (a
small script polls ``progress.json``; without it, the page's Refresh link does the same).
"""

from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from coachapp.celery_app import send_now
from coachapp.dashboard import bp
from coachapp.extensions import db
from coachapp.leads import importer
from coachapp.leads.import_rows import FIELDS, FileProblem
from coachapp.models import ImportJob, utcnow

RUN_TASK = "imports.run"
REPORT_SHOWN = 50


def _job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/imports")
def imports() -> str:
    jobs = db.session.execute(select(ImportJob).order_by(ImportJob.id.desc()).limit(20)).scalars().all()
    return render_template("dashboard/imports.html", jobs=jobs, max_mb=importer.MAX_BYTES // (1024 * 1024))


@bp.post("/imports")
def import_upload() -> Response:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to upload.", "error")
        return redirect(url_for(".imports"))
    try:
        job = importer.create_job(upload.filename, upload.read(importer.MAX_BYTES + 1), current_user, utcnow())
    except FileProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".imports"))
    db.session.commit()
    return redirect(url_for(".import_job", job_id=job.id))


@bp.get("/imports/<int:job_id>")
def import_job(job_id: int) -> str:
    job = _job(job_id)
    shown = [entry for entry in job.report if entry[2] != "created"][:REPORT_SHOWN]
    return render_template("dashboard/import_job.html", job=job, fields=FIELDS, preview=importer.preview(job),
                           notice=importer.notice(job), shown=shown, rules=importer.RULES)


@bp.post("/imports/<int:job_id>")
def import_mapping(job_id: int) -> Response:
    job = _job(job_id)
    mapping = {str(i): request.form.get(f"col{i}", "") for i in range(len(job.header))}
    action = request.form.get("action", "")
    try:
        importer.set_mapping(job, mapping)
        if action == "dry_run":
            counts = importer.dry_run(job, utcnow())
            flash(f"Dry run: {counts['created']} would be created, {counts['updated']} updated, "
                  f"{counts['unchanged']} unchanged, {counts['rejected']} rejected. Nothing was saved.", "ok")
        elif action == "import":
            importer.queue(job)
        else:
            flash("Mapping saved.", "ok")
    except FileProblem as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".import_job", job_id=job_id))
    db.session.commit()
    if action == "import" and not send_now(RUN_TASK, job.id):
        job.status = "checked" if job.dry_run else "uploaded"
        db.session.commit()
        flash("The task queue cannot be reached right now; nothing was imported. Try again in a minute.", "error")
    return redirect(url_for(".import_job", job_id=job_id))


@bp.get("/imports/<int:job_id>/progress.json")
def import_progress(job_id: int) -> Response:
    job = _job(job_id)
    return jsonify(status=job.status, processed=job.processed_rows, total=job.total_rows,
                   created=job.created_count, updated=job.updated_count, unchanged=job.unchanged_count,
                   rejected=job.rejected_count)


@bp.get("/imports/<int:job_id>/report.csv")
def import_report(job_id: int) -> Response:
    job = _job(job_id)
    return Response(importer.report_csv(job), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
