"""A lead is one person, keyed by normalised email; events form its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coachapp.models.base import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from coachapp.models.outbox import OutboxMessage

STAGES = (
    "new",
    "contacted",
    "session_booked",
    "session_held",
    "no_show",
    "client",
    "nurture",
    "lost",
)


class Lead(TimestampMixin, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_created_at_id", "created_at", "id"),
        # The nav's waiting count reads the new leads in a coach's care from here (partial: a few %).
        Index("ix_leads_new_owner_id", "owner_id", "id", postgresql_where=text("stage = 'new' AND erased_at IS NULL"),
              sqlite_where=text("stage = 'new' AND erased_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # normalised key
    email_display: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    time_zone: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(20), default="new", index=True)
    # Safety: set when any submission fired a red flag; the coach sees it first.
    needs_clinician: Mapped[bool] = mapped_column(default=False, index=True)
    consent_health_at: Mapped[datetime | None]
    consent_marketing_at: Mapped[datetime | None]
    consent_text_version: Mapped[str | None] = mapped_column(String(40))
    # Priority (rules/leads/priority.yaml), recomputed when new information arrives.
    tier: Mapped[str | None] = mapped_column(String(2), index=True)
    fit_score: Mapped[int | None]
    urgency_score: Mapped[int | None]
    engagement_score: Mapped[int | None]
    priority_status: Mapped[str | None] = mapped_column(String(24))
    priority: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # reasons, action, SLA
    priority_updated_at: Mapped[datetime | None]
    top_priority: Mapped[str | None] = mapped_column(String(40), index=True)  # latest assessment's #1 region
    replied_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    unsubscribed_all_at: Mapped[datetime | None]  # no email at all, not even the clinician note
    unsubscribed_sales_at: Mapped[datetime | None]  # no marketing/sales follow-ups
    bounced_at: Mapped[datetime | None]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"), index=True)
    assigned_at: Mapped[datetime | None]
    # First touch (never overwritten once set).
    source: Mapped[str] = mapped_column(String(120), default="direct", index=True)
    utm_medium: Mapped[str | None] = mapped_column(String(120))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    referrer: Mapped[str | None] = mapped_column(String(500))
    landing_page: Mapped[str | None] = mapped_column(String(500))
    first_touch_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Lead {self.id} {self.email}>"


class LeadEvent(Base):
    """One line on a lead's timeline (submission, email, stage change, …)."""

    __tablename__ = "lead_events"
    __table_args__ = (
        Index("ix_lead_events_lead_id_created_at", "lead_id", "created_at"),
        # "Has a coach touched this lead?": one probe of the notes only (partial).
        Index("ix_lead_events_note_lead_id", "lead_id", postgresql_where=text("kind = 'note'"),
              sqlite_where=text("kind = 'note'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The email this line is about (queued, sent, failed…), if any. A real column, so an event
    #: can be added with its (still unwritten) outbox row and both go in the same flush: the
    #: unit of work writes the email first and fills this in. Older rows have it in ``data`` only.
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True)
    outbox: Mapped[OutboxMessage | None] = relationship(lazy="raise")

    @property
    def email_id(self) -> int | None:
        """The outbox row this line is about: the column, or ``data`` on rows written before it."""
        return self.outbox_id if self.outbox_id is not None else (self.data or {}).get("outbox_id")
