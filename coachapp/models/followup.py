"""Follow-up sequences as rows: an enrollment per (lead, sequence), a row per planned step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coachapp.models.base import Base, utcnow

ENROLLMENT_STATUSES = ("active", "paused", "stopped", "completed")
STEP_STATUSES = ("planned", "claimed", "queued", "cancelled")


class Enrollment(Base):
    __tablename__ = "sequence_enrollments"
    __table_args__ = (UniqueConstraint("lead_id", "sequence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    sequence_id: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default="active")
    reason: Mapped[str | None] = mapped_column(Text)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SequenceStep(Base):
    """One planned email. ``planned`` → ``claimed`` (by one sweeper) → ``queued`` (an outbox row
    exists: delivery is the outbox's job) or ``cancelled`` (with the reason)."""

    __tablename__ = "sequence_steps"
    __table_args__ = (
        UniqueConstraint("lead_id", "sequence_id", "step_id"),
        Index("ix_sequence_steps_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("sequence_enrollments.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    sequence_id: Mapped[str] = mapped_column(String(60))
    step_id: Mapped[str] = mapped_column(String(60))
    template: Mapped[str] = mapped_column(String(80))
    audience: Mapped[str] = mapped_column(String(10), default="prospect")
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="planned")
    reason: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # planned together with a new enrollment: one flush writes both, no flush for its id first
    enrollment: Mapped[Enrollment] = relationship()
