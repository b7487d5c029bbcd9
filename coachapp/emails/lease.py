"""Holding a claimed outbox row while it is being sent, and recording what happened.

- ``Lease`` renews the claim (``claimed_at``) from a small thread while a send is in
  progress, on its own connection, so a slow but living worker keeps its row and only a dead
  one loses it. The claim's ``attempts`` value is the fencing token: a renewal never touches a
  row that someone else has claimed since.
- ``durable`` runs a recording transaction until it commits, with backoff and a fresh session
  (so a fresh pooled connection) each try, for a bounded time: the database restarting just
  after the SMTP server said 250 must not leave the row ``sending`` for the lease to hand to
  another worker (that would send the email twice).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from coachapp.extensions import db
from coachapp.models import OutboxMessage, utcnow

logger = logging.getLogger(__name__)

T = TypeVar("T")



def transient(exc: BaseException) -> bool:
    """The database could not be reached or the transaction was cut off (not: the SQL was wrong)."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Lease:
    """Renew ``claimed_at`` every ``interval`` seconds while the ``with`` block runs, until ``until``."""

    def __init__(self, engine: Engine, message_id: int, token: int, interval: float, until: float) -> None:
        self.engine = engine
        self.message_id = message_id
        self.token = token
        self.interval = interval
        self.until = until  # time.monotonic() after which the lease is left to run out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"outbox-lease-{message_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval) and time.monotonic() < self.until:
            self.renew(utcnow())

    def renew(self, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == self.message_id, OutboxMessage.status == "sending",
                           OutboxMessage.attempts == self.token)
                    .values(claimed_at=now)
                )
            return result.rowcount == 1
        except Exception as exc:  # the database is down: the lease runs on, the send goes on
            logger.warning("Outbox %s: lease not renewed (%s)", self.message_id, type(exc).__name__)
            return False


def durable(action: Callable[[], T], deadline: float, what: str) -> T:
    """Run ``action`` (one transaction that commits) until it succeeds or ``deadline`` s pass."""
    give_up = time.monotonic() + deadline
    delay = 0.1
    tries = 0
    while True:
        tries += 1
        try:
            return action()
        except Exception as exc:
            if not transient(exc):
                raise
            _discard_session()
            left = give_up - time.monotonic()
            if left <= 0:
                logger.error("%s: database unreachable for %.0f s (%d tries), giving up: %s",
                             what, deadline, tries, exc)
                raise
            logger.warning("%s: database error (try %d), retrying in %.1f s: %s",
                           what, tries, min(delay, left), type(exc).__name__)
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)


def _discard_session() -> None:
    """Drop the session and its connection; the next try checks out a fresh (pre-pinged) one."""
    try:
        db.session.rollback()
    except Exception:  # nosec B110  # the connection is already gone
        pass
    db.session.remove()
