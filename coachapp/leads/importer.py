"""Import leads from a CSV file: upload → mapping → dry run → the import (a Celery task).

Rules (also stated on the import page):

* Leads are matched by normalised email (``normalize_email``), against existing leads and
  within the file (the first row with an address wins; later ones are rejected as duplicates).
* A new lead gets what the row gives; source ``import: <file name>`` when the row names none;
  no tier, no owner, no health consent, no emails and no sequences (an imported person has not
  asked us for anything; even with a marketing opt-in the coach decides when to write).
* An existing lead is only filled in: a field already set is never overwritten (what the lead
  told us wins), first touch is never touched, and the stage moves only from ``new`` (an
  import never moves a lead backwards or sideways). Marketing consent is added only when the
  lead has none and never unsubscribed, with the date the file gives.

Set-based: rows go in batches of ``BATCH``; per batch one SELECT of the existing leads, one
multi-row INSERT of the new ones (``ON CONFLICT (email) DO NOTHING``: a lead created meanwhile
by a form is reported, never duplicated), the fills as one executemany UPDATE, one INSERT of
the timeline events, and a commit that also records the progress.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from coachapp.extensions import db
from coachapp.leads import import_rows
from coachapp.leads.import_rows import FileProblem, ImportRow, Rejected
from coachapp.leads.intake import normalize_phone
from coachapp.leads.services import normalize_email
from coachapp.models import STAGES, Coach, ImportJob, Lead, LeadEvent, utcnow
from coachapp.textclean import clean_line, strip_controls

logger = logging.getLogger(__name__)

BATCH = 1000
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
FILL_FIELDS = ("first_name", "last_name", "phone")
REPORT_HEADER = ("row", "email", "outcome", "reason")
#: The rules, as the import page states them.
RULES = (
    "Each person is matched by email address (case and spacing ignored), against your leads and within the "
    "file: a second row with the same address is rejected as a duplicate.",
    "A lead you already have is only filled in: a name, phone or stage it already has is never overwritten, "
    "its first touch (source, campaign) never changes, and its stage moves on only from new, never back.",
    "Marketing consent is recorded only when the file says the person opted in and gives the date; a yes "
    "without a date records nothing. An imported lead never has health-data consent.",
    "No email is sent and no follow-up sequence starts: these people have not asked us for anything here. "
    "Even with an opt-in, you decide when to write to them.",
    "New leads get the source \"import: <file name>\" when the row names none, and a timeline entry "
    "\"Imported from …\".",
)

__all__ = ["FileProblem", "create_job", "dry_run", "forget", "queue", "report_csv", "run", "set_mapping"]


def create_job(filename: str, raw: bytes, by: Coach, now: datetime) -> ImportJob:
    """Store an uploaded file as a job (status ``uploaded``) with a guessed mapping; flushes."""
    if len(raw) > MAX_BYTES:
        raise FileProblem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    decoded = import_rows.decode(raw)
    if decoded.total_rows == 0:
        raise FileProblem("The file has a header but no rows.")
    if decoded.total_rows > MAX_ROWS:
        raise FileProblem(f"The file has {decoded.total_rows:,} rows; import at most {MAX_ROWS:,} at a time.")
    name = clean_line(filename.replace("\\", "/").rsplit("/", 1)[-1], 200) or "upload.csv"
    # stored as uploaded, less control characters (a C1 byte, a stray ^R; tab, CR and LF stay)
    header = [strip_controls(cell, multiline=True) for cell in decoded.header]
    job = ImportJob(created_by_id=by.id, created_by=by.name, filename=name, encoding=decoded.encoding,
                    delimiter=decoded.delimiter, content=strip_controls(decoded.text, multiline=True),
                    header=header, mapping=import_rows.guess_mapping(header), total_rows=decoded.total_rows,
                    status="uploaded", report=[], created_at=now, updated_at=now)
    db.session.add(job)
    db.session.flush()
    return job


def notice(job: ImportJob) -> str | None:
    parts = []
    if job.encoding != "utf-8":
        parts.append("The file is not UTF-8, so it was read as Windows-1252 (Latin-1), what Excel writes on a "
                     "Western PC. Check the accented names in the preview; if they look wrong, save as "
                     "\"CSV UTF-8\" and upload again.")
    if job.delimiter == ";":
        parts.append("Columns are separated by semicolons (Excel's CSV in many countries); that is fine.")
    return " ".join(parts) or None


def preview(job: ImportJob) -> list[list[str]]:
    rows = import_rows.iter_rows(job.content, job.delimiter)
    next(rows, None)
    out = []
    for row in rows:
        if any(cell.strip() for cell in row):
            out.append([clean_line(cell, 80) for cell in row])
        if len(out) == import_rows.PREVIEW_ROWS:
            break
    return out


def set_mapping(job: ImportJob, mapping: dict[str, str]) -> None:
    if job.status not in ("uploaded", "checked"):
        raise FileProblem("This import has already started.")
    mapping = {k: v for k, v in mapping.items() if v}
    problem = import_rows.check_mapping(mapping, len(job.header))
    if problem:
        raise FileProblem(problem)
    if mapping != job.mapping:
        job.mapping, job.status, job.dry_run = mapping, "uploaded", None


def dry_run(job: ImportJob, now: datetime) -> dict[str, int]:
    """What the import would do, without writing a lead: counts on the job, the report too."""
    counts, report = _process(job, now, write=False)
    job.dry_run, job.report, job.status = counts, report, "checked"
    return counts


def queue(job: ImportJob) -> None:
    if job.status not in ("uploaded", "checked"):
        raise FileProblem("This import has already started.")
    job.status = "queued"


def run(job_id: int) -> str:
    """The import itself (the Celery task ``imports.run``): claims the job, then commits batch
    by batch with the progress. A second delivery of the task claims nothing."""
    now = utcnow()
    claimed = db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "queued")
        .values(status="running", started_at=now, processed_rows=0, created_count=0, updated_count=0,
                unchanged_count=0, rejected_count=0, report=[], updated_at=now)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "not queued"
    job = db.session.get(ImportJob, job_id)
    try:
        counts, report = _process(job, now, write=True)
    except Exception as exc:
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status, job.error, job.finished_at = "failed", f"{type(exc).__name__}: the import stopped", utcnow()
        db.session.commit()
        logger.exception("Import %s failed after %s rows", job_id, job.processed_rows)
        raise
    # the file is not needed any more: its text (personal data) goes, the report stays
    job.report, job.status, job.finished_at, job.content = report, "done", utcnow(), ""
    db.session.commit()
    return f"created {counts['created']}, updated {counts['updated']}, rejected {counts['rejected']}"


def forget(email_key: str) -> None:
    """Erasure: remove a person's rows from every import's report and from files not yet run."""
    for job in db.session.execute(select(ImportJob)).scalars():
        report = [entry for entry in job.report if _key(entry[1]) != email_key]
        if len(report) != len(job.report):
            job.report = report
        if job.content and email_key in job.content.lower():
            job.content = "\n".join(line for line in job.content.split("\n") if email_key not in line.lower())
            job.total_rows = sum(1 for row in list(import_rows.iter_rows(job.content, job.delimiter))[1:]
                                 if any(cell.strip() for cell in row))


def _key(raw: str) -> str:
    try:
        return normalize_email(raw)[0]
    except ValueError:
        return raw.strip().lower()


def report_csv(job: ImportJob) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(REPORT_HEADER)
    for line, email, outcome, reason in job.report:
        writer.writerow([line, _csv_safe(email), outcome, _csv_safe(reason)])
    return buffer.getvalue()


def _csv_safe(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


# --- the batch loop ---------------------------------------------------------------------------

def _batches(job: ImportJob, now: datetime) -> Iterator[list[ImportRow | Rejected]]:
    rows = import_rows.iter_rows(job.content, job.delimiter)
    next(rows, None)
    batch: list[ImportRow | Rejected] = []
    for line, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        batch.append(import_rows.read_row(line, cells, job.mapping, stages=STAGES, email=normalize_email,
                                          phone=normalize_phone, clean=clean_line, now=now))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _process(job: ImportJob, now: datetime, write: bool) -> tuple[dict[str, int], list[list[Any]]]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    report: list[list[Any]] = []
    seen: dict[str, int] = {}
    for batch in _batches(job, now):
        rows: list[ImportRow] = []
        for row in batch:
            if isinstance(row, Rejected):
                report.append([row.line, row.email, "rejected", row.reason])
            elif row.email in seen:
                report.append([row.line, row.email_display, "rejected", f"duplicate in file (row {seen[row.email]})"])
            else:
                seen[row.email] = row.line
                rows.append(row)
        existing = {lead.email: lead for lead in db.session.execute(
            select(Lead).where(Lead.email.in_([r.email for r in rows]))).scalars()} if rows else {}
        new = [r for r in rows if r.email not in existing]
        made = _insert_new(job, new, now) if write else {r.email for r in new}
        events: list[dict[str, Any]] = []
        for row in rows:
            lead = existing.get(row.email)
            if lead is None:
                outcome = ("created", "; ".join(row.warnings)) if row.email in made else \
                    ("rejected", "created meanwhile by a form or booking; import again to fill it in")
            else:
                outcome = _fill(job, lead, row, now, events, write)
            report.append([row.line, row.email_display, *outcome])
        if write:
            events.extend(_new_lead_events(job, [r for r in new if r.email in made], made, now))
            if events:
                db.session.connection().execute(insert(LeadEvent.__table__), events)
        batch_counts = {k: 0 for k in counts}
        for entry in report[-len(batch):]:
            batch_counts[entry[2]] += 1
        for key, value in batch_counts.items():
            counts[key] += value
        if write:
            job.processed_rows += len(batch)
            for key, value in batch_counts.items():
                setattr(job, f"{key}_count", getattr(job, f"{key}_count") + value)
            job.updated_at = utcnow()
            db.session.commit()
    report.sort(key=lambda entry: entry[0])
    return counts, report


def _insert_new(job: ImportJob, rows: list[ImportRow], now: datetime) -> dict[str, int]:
    """One multi-row INSERT for the batch's new leads; email → id of those it inserted."""
    if not rows:
        return {}
    source = clean_line(f"import: {job.filename}", 120)
    values = [{
        "email": r.email, "email_display": r.email_display, "first_name": r.values["first_name"],
        "last_name": r.values["last_name"], "phone": r.values["phone"], "stage": r.stage or "new",
        "source": r.values["source"] or source, "utm_medium": r.values["utm_medium"],
        "utm_campaign": r.values["utm_campaign"], "consent_marketing_at": r.consent_marketing_at,
        "first_touch_at": r.first_seen or now, "needs_clinician": False, "created_at": now, "updated_at": now,
    } for r in rows]
    dialect = db.session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Lead.__table__)
    stmt = stmt.on_conflict_do_nothing(index_elements=["email"]).returning(Lead.email, Lead.id)
    # executemany with RETURNING: SQLAlchemy's "insertmanyvalues" sends multi-row INSERTs
    # (up to 1,000 rows each) from one cached compilation
    return {email: lead_id for email, lead_id in db.session.connection().execute(stmt, values).all()}


def _event(lead_id: int, kind: str, summary: str, now: datetime, **data: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "kind": kind, "summary": summary, "data": data, "created_at": now,
            "outbox_id": None}


def _new_lead_events(job: ImportJob, rows: list[ImportRow], ids: dict[str, int], now: datetime
                     ) -> Iterator[dict[str, Any]]:
    for row in rows:
        lead_id = ids[row.email]
        yield _event(lead_id, "imported", f"Imported from {job.filename} by {job.created_by} (row {row.line}); "
                     "no emails or sequences started", now, job_id=job.id, row=row.line, tags=row.tags)
        if row.consent_marketing_at is not None:
            yield _event(lead_id, "consent", f"Opted in to coaching emails on {row.consent_marketing_at:%Y-%m-%d} "
                         f"(from the import {job.filename})", now, scope="marketing", source="import", job_id=job.id)
        if row.notes:
            yield _event(lead_id, "note", row.notes, now, by=f"import: {job.filename}")


def _fill(job: ImportJob, lead: Lead, row: ImportRow, now: datetime, events: list[dict[str, Any]],
          write: bool) -> tuple[str, str]:
    """Fill the existing lead's empty fields from the row; (outcome, reason)."""
    if lead.erased_at is not None:
        return "rejected", "erased on request; not imported again"
    changes: dict[str, Any] = {f: row.values[f] for f in FILL_FIELDS if row.values[f] and not getattr(lead, f)}
    notes = list(row.warnings)
    if row.stage and row.stage != lead.stage:
        if lead.stage == "new":
            changes["stage"] = row.stage
        else:
            notes.append(f"stage kept at {lead.stage.replace('_', ' ')} (an import only moves a new lead on)")
    if row.consent_marketing_at is not None and lead.consent_marketing_at is None:
        if lead.unsubscribed_all_at or lead.unsubscribed_sales_at:
            notes.append("opt-in in the file ignored: the lead unsubscribed")
        else:
            changes["consent_marketing_at"] = row.consent_marketing_at
    if not changes and not row.notes:
        return "unchanged", "; ".join(notes) or "nothing new (existing values are kept)"
    if write:
        for name, value in changes.items():
            setattr(lead, name, value)
        filled = ", ".join(n.replace("_", " ") for n in changes) or "a note"
        events.append(_event(lead.id, "imported", f"Updated from {job.filename} by {job.created_by} (row {row.line}):"
                             f" filled {filled}", now, job_id=job.id, row=row.line, fields=sorted(changes),
                             tags=row.tags))
        if "consent_marketing_at" in changes:
            events.append(_event(lead.id, "consent", f"Opted in to coaching emails on "
                                 f"{row.consent_marketing_at:%Y-%m-%d} (from the import {job.filename})", now,
                                 scope="marketing", source="import", job_id=job.id))
        if row.notes:
            events.append(_event(lead.id, "note", row.notes, now, by=f"import: {job.filename}"))
    summary = ("filled " + ", ".join(n.replace("_", " ") for n in changes)) if changes else "note added"
    return "updated", "; ".join([summary, *notes])
