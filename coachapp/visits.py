"""Page visits: one counter row per hour, page and source, bumped with a single upsert.

A service: it executes the statement and leaves the commit to the caller (the request boundary).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from coachapp.extensions import db
from coachapp.models import PageVisit

SOURCE_LENGTH = 120


def visit_source(touch: Mapping[str, Any]) -> str:
    """The source as ``lead.source`` is derived from the same first touch: utm_source, referrer host, "direct"."""
    return str(touch.get("utm_source") or touch.get("referrer_host") or "direct")[:SOURCE_LENGTH]


def count_visit(page: str, source: str, now: datetime) -> None:
    """Add one visit to ``page`` from ``source`` in the UTC hour of ``now`` (INSERT … ON CONFLICT DO UPDATE)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(PageVisit).values(hour=hour, page=page, source=source[:SOURCE_LENGTH], count=1)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=[PageVisit.hour, PageVisit.page, PageVisit.source],
        set_={"count": PageVisit.count + 1},
    ))
