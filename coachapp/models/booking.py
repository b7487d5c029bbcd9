"""Booking webhooks: every delivery received (the idempotency key), and the meetings they describe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, TimestampMixin, utcnow

BOOKING_STATUSES = ("booked", "rescheduling", "cancelled", "no_show", "held")
#: Bookings made in the app (the slot picker after the strategy-session form).
IN_APP = "coachapp"
#: An in-app booking holds its slot while it is booked (the partial unique indexes below).
_ACTIVE_IN_APP = text("provider = 'coachapp' AND status = 'booked'")


class WebhookEvent(Base):
    """One provider event, stored once: the unique (provider, event_id) makes a retried or
    replayed delivery a no-op, even when two copies arrive at the same moment."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # calcom | calendly
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))  # created | rescheduled | cancelled | no_show | no_show_undone
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str] = mapped_column(String(40), default="received")


class Booking(TimestampMixin, Base):
    """A meeting booked through a provider; a reschedule moves it (and takes the new uid)."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("provider", "uid"),
        # The hold: one booked in-app session per coach and start time (two requests for the same
        # slot: the second INSERT/UPDATE fails), and one per lead (booking again = rescheduling).
        # Partial, so a cancelled booking frees its slot by its status alone.
        Index("uq_bookings_coach_slot", "coach_id", "start_at", unique=True,
              sqlite_where=_ACTIVE_IN_APP, postgresql_where=_ACTIVE_IN_APP),
        Index("uq_bookings_lead_in_app", "lead_id", unique=True,
              sqlite_where=_ACTIVE_IN_APP, postgresql_where=_ACTIVE_IN_APP),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"), index=True)
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE: +1 per reschedule or cancel
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    uid: Mapped[str] = mapped_column(String(500))
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    time_zone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="booked")
    stage_before: Mapped[str | None] = mapped_column(String(20))  # where a cancellation returns the lead
