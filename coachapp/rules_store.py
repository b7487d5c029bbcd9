"""Which rules the app serves: the live version from the database, else the shipped files.

``get_rules()`` is what every view, service and task asks. The files in ``RULES_DIR`` are loaded
(validated) once per app and served while no version is published. Which version is live is
looked up at most once every ``RULES_LIVE_TTL`` seconds (default 5) per process — one indexed
``SELECT`` of the single ``published`` row on its own pooled connection, so it is never part of a
request's transaction and costs a request nothing in between — so a publish or rollback made in
another process (web or Celery worker) is served here within that time. The process that
publishes forgets its memory as its transaction commits (``forget`` from an ``after_commit``
hook), so its next request serves the new version at once.

A request or task sees one rule set from start to end: the first ``get_rules()`` in an app
context pins it in ``flask.g`` (a Celery task runs in its own app context).

A version's compiled ``Rules`` is immutable, so it is cached per process by its content hash
(``rules_for``): a rollback to a version seen before, or a preview of a draft, loads nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError

from coachapp.assessment import Rules, load_rules, load_rules_from_texts
from coachapp.extensions import db
from coachapp.models import RulesVersion

logger = logging.getLogger(__name__)

FILES_KEY = "coachapp.rules"  # the shipped files' Rules (tests may replace it)
_LIVE = "coachapp.rules_live"
_CACHE = "coachapp.rules_by_hash"
_PIN = "_coachapp_rules"
CHANGED = "coachapp.rules_changed"  # session.info flag: forget the live version after this commit
CACHE_SIZE = 8
_lock = threading.Lock()


@dataclass(frozen=True)
class Live:
    rules: Rules
    version_id: int | None  # None: the shipped files
    checked_at: float


def init_app(app: Flask) -> None:
    app.extensions[FILES_KEY] = load_rules(Path(app.config["RULES_DIR"]))
    app.extensions[_CACHE] = OrderedDict()
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)


def get_rules() -> Rules:
    """The rules this request or task works with (pinned on first use in the app context)."""
    pinned = g.get(_PIN)
    if pinned is None:
        pinned = live().rules
        setattr(g, _PIN, pinned)
    return pinned


def files_rules() -> Rules:
    return current_app.extensions[FILES_KEY]


def live() -> Live:
    """The live rules of this process, looked up again once ``RULES_LIVE_TTL`` has passed."""
    app = current_app
    state: Live | None = app.extensions.get(_LIVE)
    now = time.monotonic()
    if state is not None and now - state.checked_at < app.config["RULES_LIVE_TTL"]:
        return state if state.version_id is not None else Live(files_rules(), None, state.checked_at)
    state = _look_up(state, now)
    app.extensions[_LIVE] = state
    return state


def _look_up(previous: Live | None, now: float) -> Live:
    row = None
    try:
        with db.engine.connect() as conn:
            row = conn.execute(select(RulesVersion.id, RulesVersion.content_hash)
                               .where(RulesVersion.status == "published")).first()
            if row is None:
                return Live(files_rules(), None, now)
            rules = rules_for(row.content_hash, lambda: conn.execute(
                select(RulesVersion.files).where(RulesVersion.id == row.id)).scalar_one())
    except SQLAlchemyError as exc:  # no database (yet): keep what was served, look again later
        logger.warning("Could not read the live rules version (%s); serving what was served", type(exc).__name__)
        return Live(previous.rules if previous else files_rules(), previous.version_id if previous else None, now)
    except Exception:  # a stored version the code no longer accepts: never take the site down
        logger.exception("The live rules version %s does not load; serving the shipped files", row and row.id)
        return Live(files_rules(), None, now)
    return Live(rules, row.id, now)


def rules_for(content_hash: str, texts: Callable[[], Mapping[str, str]]) -> Rules:
    """A version's ``Rules`` by its content hash, loaded (``texts()``) only when not cached.

    Raises ``RulesError`` when the texts do not validate (nothing is cached then)."""
    files = files_rules()
    if files.version == content_hash:
        return files
    cache: OrderedDict[str, Rules] = current_app.extensions[_CACHE]
    with _lock:
        if content_hash in cache:
            cache.move_to_end(content_hash)
            return cache[content_hash]
    rules = load_rules_from_texts(texts())
    with _lock:
        cache[rules.version] = cache[content_hash] = rules
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return rules


def forget() -> None:
    """Drop this process's memory of the live version and this context's pinned rules."""
    current_app.extensions.pop(_LIVE, None)
    if has_app_context():
        g.pop(_PIN, None)


def changed_in(session) -> None:
    """Mark the session: the live version changes when it commits."""
    session.info[CHANGED] = True


def _after_commit(session) -> None:
    if session.info.pop(CHANGED, False) and has_app_context():
        forget()


def _after_rollback(session) -> None:
    session.info.pop(CHANGED, None)
