"""Lead imports (a CSV file, its column mapping, progress and report) and lead merges (audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, TimestampMixin, utcnow

#: uploaded → checked (dry run done) → queued → running → done | failed
IMPORT_STATUSES = ("uploaded", "checked", "queued", "running", "done", "failed")


class ImportJob(TimestampMixin, Base):
    """One uploaded CSV file. The decoded text is kept on the row, so the worker that runs the
    import needs nothing but the id (it may run on another host); erased with the job."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(200))
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(1))
    content: Mapped[str] = mapped_column(Text)
    header: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # column index (str) → field
    status: Mapped[str] = mapped_column(String(12), default="uploaded")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    dry_run: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the dry run's counts
    #: [[row number, email, outcome, reason], …] of the last run (dry or real)
    report: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class LeadMerge(Base):
    """Audit record of a merge: who folded which lead into which, and the values chosen. The
    merged lead's id stays resolvable here, so its old URL redirects to the survivor."""

    __tablename__ = "lead_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    merged_lead_id: Mapped[int] = mapped_column(Integer, unique=True)
    merged_email: Mapped[str | None] = mapped_column(String(254))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"))
    by_name: Mapped[str] = mapped_column(String(120))
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # table → rows moved
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
