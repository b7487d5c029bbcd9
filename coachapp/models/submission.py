"""Assessment submissions: answers saved step by step, then scored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, utcnow


class AssessmentSubmission(Base):
    __tablename__ = "assessment_submissions"
    __table_args__ = (Index("ix_assessment_submissions_status_updated_at", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unguessable; the resume and results links carry it.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="in_progress")  # or "completed"
    channel: Mapped[str] = mapped_column(String(10), default="web")  # "web" | "api"
    current_step: Mapped[str | None] = mapped_column(String(60))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    steps_done: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules_version: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    safety_level: Mapped[str | None] = mapped_column(String(10))
    top_priority: Mapped[str | None] = mapped_column(String(40))
    #: The result's flag ids, e.g. ["HYPERMOBILE"]: what Insights counts, without parsing the whole result.
    flag_ids: Mapped[list[str] | None] = mapped_column(JSON)
    first_touch: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    @property
    def completed(self) -> bool:
        return self.status == "completed"
