"""The live version's email copy (issue 15.2) for the email renderer, and the guard that keeps a
version with copy problems from going live.

Which version is live comes from ``rules_store.live()``; its ``copy`` is read with each new
look-up of it (at most once per ``RULES_LIVE_TTL`` per process, on its own connection), so emails
and pages follow a publish or rollback together. The guard listens to the session: a version becoming
``published`` (publish, rollback, the CLI) with copy problems raises ``RulesError`` naming them,
which every publish path already reports and rolls back.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from coachapp import rules_store
from coachapp.assessment import RulesError
from coachapp.extensions import db
from coachapp.models import RulesVersion
from coachapp.rules_versions import copy_text

_KEY = "coachapp.rules_copy"  # (the rules_store.Live it was read for, its copy)
_lock = threading.Lock()


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = None
    if not event.contains(db.session, "before_flush", _guard):
        event.listen(db.session, "before_flush", _guard)


def live_override(name: str) -> Mapping[str, Any] | None:
    """The live version's override for template ``name`` (None: the template's own copy)."""
    if name not in copy_text.EMAILS:
        return None
    live = rules_store.live()
    if live.version_id is None:
        return None
    with _lock:
        seen, copy = current_app.extensions.get(_KEY) or (None, None)
    if seen is not live:  # a new look-up of the live version (once per RULES_LIVE_TTL): read its copy again
        try:
            with db.engine.connect() as conn:
                copy = conn.execute(select(RulesVersion.copy).where(RulesVersion.id == live.version_id)).scalar()
        except SQLAlchemyError:
            return None  # no database: the template's own copy
        copy = copy or {}
        with _lock:
            current_app.extensions[_KEY] = (live, copy)
    return override_in(copy, name)


def override_in(copy: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """A version's override for template ``name`` in its ``copy`` (None: the template's own)."""
    entry = copy.get(name) if name in copy_text.EMAILS else None
    return entry if isinstance(entry, Mapping) and entry.get("subject") and entry.get("body") else None


def _guard(session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.new):
        if isinstance(obj, RulesVersion) and obj.status == "published" \
                and (obj in session.new or inspect(obj).attrs.status.history.has_changes()):
            found = copy_text.problems(obj.copy or {})
            if found:
                raise RulesError(found)
