"""Snapshots of the owner's Insights aggregates: counted once, read by every page view for a while."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base


class InsightSnapshot(Base):
    """The grouped counts of one Insights table set (e.g. Outcomes for the last 12 weeks in a zone),
    as counted at ``computed_at`` for the period starting ``period_start``. No personal data: counts
    per tier, source, region, flag and answer only."""

    __tablename__ = "insight_snapshots"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # what, weeks, zone, rules version
    computed_at: Mapped[datetime]
    period_start: Mapped[datetime]
    rows: Mapped[list[Any]] = mapped_column(JSON)
