"""A lead's erasure reaches the replays: their entries for the lead keep only which categories
changed (so the counts stay true) and lose the submission, the lead and the outcomes."""

from __future__ import annotations

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import RulesReplay


def forget_lead(lead_id: int) -> None:
    for run in db.session.execute(select(RulesReplay).where(RulesReplay.status == "done")).scalars():
        if any(entry.get("l") == lead_id for entry in run.changes):
            run.changes = [{"s": None, "l": None, "c": entry["c"], "b": {}, "a": {}} if entry.get("l") == lead_id
                           else entry for entry in run.changes]
