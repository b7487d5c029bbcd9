"""A replay run (issue 15.3): the last N completed submissions scored under a draft and under
the live rules, in the worker, with its progress and its outcome (counts per category and the
changed runners, compact JSON). A replay reads submissions; it never writes to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, utcnow

#: queued → running → done | failed
REPLAY_STATUSES = ("queued", "running", "done", "failed")


class RulesReplay(Base):
    __tablename__ = "rules_replays"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("rules_versions.id", ondelete="CASCADE"), index=True)
    #: what the draft is compared with: "v3" or "shipped files", and its content hash
    live_label: Mapped[str] = mapped_column(String(40))
    live_hash: Mapped[str] = mapped_column(String(40))
    draft_hash: Mapped[str] = mapped_column(String(40))
    requested: Mapped[int] = mapped_column(Integer)  # N: the last N completed submissions
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    #: {"changed": n, "top_priority": n, "safety": n, "plan": n, "tier": n, "seconds": s}
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: one entry per changed runner: {"s": submission id, "l": lead id, "c": [categories],
    #: "b": before (live), "a": after (draft)}; see ``rules_preview.outcomes.brief``
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
