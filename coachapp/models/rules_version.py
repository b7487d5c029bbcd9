"""Rules versions held in the database (issue 15) and their audit log.

The files in ``rules/`` stay the shipped default. A version stores the texts of every rule file
(relative path → YAML) exactly as the loader reads them from a folder, and the content hash the
loader computes (``Rules.version``, which every submission and outbox email records). At most one
version is ``published`` (live) at a time — a partial unique index holds that even when two
publishes race; with none published the app serves the files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from coachapp.models.base import Base, utcnow

#: draft (editable) → published (live, at most one) → retired (was live; rollback can bring it back)
RULES_STATUSES = ("draft", "published", "retired")
_LIVE = text("status = 'published'")


class RulesVersion(Base):
    __tablename__ = "rules_versions"
    __table_args__ = (
        Index("uq_rules_versions_live", "status", unique=True, sqlite_where=_LIVE, postgresql_where=_LIVE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # "v<number>", 1, 2, 3 … as created
    status: Mapped[str] = mapped_column(String(10), default="draft")
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # relative path → YAML text
    content_hash: Mapped[str] = mapped_column(String(40), index=True)  # Rules.version of ``files``
    #: Email copy overrides per template (subject/body), filled by the editor (issue 15.2); empty now.
    copy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("rules_versions.id", ondelete="SET NULL"))
    #: The version that was live when this one went live (None: the shipped files), so a rollback
    #: goes back along the chain of publishes.
    previous_live_id: Mapped[int | None] = mapped_column(ForeignKey("rules_versions.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]

    @property
    def label(self) -> str:
        return f"v{self.number}"


class RulesAudit(Base):
    """Who did what to which rules version, when: create, import, edit, publish, rollback."""

    __tablename__ = "rules_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("rules_versions.id", ondelete="SET NULL"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("coaches.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))  # "Ana Owner <ana@…>" or "CLI (user@host)"
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. {"from": 2, "to": 3}
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
