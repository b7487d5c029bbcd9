"""Page visits, counted per hour, page and first-touch source (no personal data, no cookies of its own)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base

#: The page whose visits open the Insights funnel.
ASSESSMENT_INTRO = "assessment_intro"


class PageVisit(Base):
    """How many times ``page`` was shown in the UTC hour starting at ``hour``, per source.

    One row per (hour, page, source); a visit adds 1 to its row with one upsert. Hours (not
    days) so that weeks in any whole-hour time zone are counted exactly.
    """

    __tablename__ = "page_visits"

    hour: Mapped[datetime] = mapped_column(primary_key=True)  # UTC, minutes and seconds zero
    page: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(120), primary_key=True)  # as the visitor's first touch gives it
    count: Mapped[int] = mapped_column(default=0)
