"""Insights snapshots: an aggregate counted once and reused by page views for a few minutes.

Counting an Insights page reads every lead of the period (and stored JSON documents): seconds at
100,000 leads. The counted figures — small, no personal data — are stored in ``insight_snapshots``
under a key naming the page, its period, zone and rules version, and reused while younger than
``rules/insights.yaml`` ``snapshot.minutes``. The first view after that counts again (so does the
owner's "Count again now"); two views counting at once both store, the later one wins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from coachapp.extensions import db
from coachapp.models import InsightSnapshot


def reuse_or_count(key: str, now: datetime, max_age: timedelta, period_start: datetime,
                   count: Callable[[], Any], recount: bool = False) -> tuple[Any, datetime, bool]:
    """``(figures, counted at, counted now)``: the stored figures when younger than ``max_age``
    (and not ``recount``), else ``count()`` stored now with one upsert (the caller commits)."""
    snapshot = db.session.get(InsightSnapshot, key)
    if snapshot is not None and not recount and now - snapshot.computed_at < max_age:
        return snapshot.rows, snapshot.computed_at, False
    figures = count()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"computed_at": now, "period_start": period_start, "rows": figures}
    db.session.execute(dialect.insert(InsightSnapshot).values(key=key, **values)
                       .on_conflict_do_update(index_elements=["key"], set_=values))
    return figures, now, True
