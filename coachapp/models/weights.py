"""The priority-weights fits (issue 14.3): each one asked for, and its stored result."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, utcnow

#: queued → running → done | failed
FIT_STATUSES = ("queued", "running", "done", "failed")


class WeightFit(Base):
    """One fit of the priority points to outcomes. Fitting 100,000 leads takes seconds (see
    docs/benchmarks.md), so the worker runs it and the page shows the last one done; the
    report and the proposed diff are kept as they were computed, with the rules version they
    were computed against (a diff for older rules is not offered)."""

    __tablename__ = "weight_fits"
    __table_args__ = (Index("ix_weight_fits_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(120))  # a coach's name, or "flask priority fit"
    since: Mapped[date | None] = mapped_column(Date)
    decided_after_days: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="queued")
    rules_version: Mapped[str | None] = mapped_column(String(40))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    diff: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
