"""The durable outbox: one row per email purpose, written with the business change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, utcnow

OUTBOX_STATUSES = ("queued", "sending", "sent", "failed")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one email per purpose, e.g. "assessment-result:42".
    purpose_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An iCalendar invite (METHOD:REQUEST or CANCEL) sent with the email as text/calendar.
    ics: Mapped[str | None] = mapped_column(Text)
    # The rules version (content hash, ``Rules.version``) live in the process that rendered it.
    rules_version: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    transport: Mapped[str | None] = mapped_column(String(20))  # "smtp" | "capture"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The per-recipient cap (``queueing._over_cap``): one index range scan, not a table scan.
Index("ix_outbox_messages_recipient_created_at", func.lower(OutboxMessage.to_address), OutboxMessage.created_at)
