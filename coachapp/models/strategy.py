"""Free Strategy Session requests and the coach's follow-up tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, utcnow


class StrategyRequest(Base):
    """One "Book a Free Strategy Session" form submission."""

    __tablename__ = "strategy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the confirmation page link
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    assessment_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_submissions.id", ondelete="SET NULL")
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    time_zone: Mapped[str] = mapped_column(String(64))
    first_touch: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


TASK_STATUSES = ("open", "done", "cancelled")


class CoachTask(Base):
    """Something a coach must do for a lead by a due time (e.g. the first call)."""

    __tablename__ = "coach_tasks"
    __table_args__ = (
        Index("ix_coach_tasks_coach_id_status_due_at", "coach_id", "status", "due_at"),
        # "Has a coach touched this lead?": one probe of the done tasks only (partial).
        Index("ix_coach_tasks_done_lead_id", "lead_id", postgresql_where=text("status = 'done'"),
              sqlite_where=text("status = 'done'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))  # "first_contact"
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # the coach was reminded when it became due
    escalated_at: Mapped[datetime | None]  # the owner was told it is overdue
