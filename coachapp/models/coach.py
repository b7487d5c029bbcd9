"""Coaches: who covers which services, where, and when they work."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, TimestampMixin

#: Services a prospect can ask for (the strategy-session form) and a coach can cover.
SERVICES = {
    "personal_training": "Personal training",
    "mobility_coaching": "Mobility coaching",
    "kinstretch": "KINSTRETCH classes",
    "online_coaching": "Online coaching",
}


class Coach(TimestampMixin, Base):
    __tablename__ = "coaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    # {"mon": ["09:00-12:00", "13:00-17:00"], ...} in the coach's time zone.
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    in_person: Mapped[bool] = mapped_column(default=True)
    online: Mapped[bool] = mapped_column(default=True)
    is_owner: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    last_assigned_at: Mapped[datetime | None]
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2
    # Part of the login session id: rotating it ends every session of this coach.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_urlsafe(32))
    last_login_at: Mapped[datetime | None]
    last_digest_on: Mapped[date | None]  # local date of the last morning digest (DIGEST_HOUR)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def role(self) -> str:
        return "owner" if self.is_owner else "coach"

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else self.email

    def __repr__(self) -> str:
        return f"<Coach {self.id} {self.email}>"
