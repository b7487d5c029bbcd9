"""The owner's webhook endpoints: add (with a generated signing secret), (de)activate, delete.

Which endpoints are active is read on every lead change that could queue a delivery. A business
without any endpoint should not pay a query per submission for that, so "there are none" is
remembered per process for ``WEBHOOKS_ENDPOINTS_TTL`` seconds (a change made in this process
applies at once; one made in another process within that time). When there are endpoints the
list is read fresh each time, so a deactivated or deleted endpoint never gets a new delivery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select

from coachapp.extensions import db
from coachapp.models import Coach, WebhookDelivery, WebhookEndpoint
from coachapp.textclean import clean_line
from coachapp.webhooks_out.signing import EVENT_TYPES, new_secret, url_problem

_STATE = "webhooks_out.endpoints"


class EndpointError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Subscribed:
    id: int
    events: frozenset[str]


def create(url: str, events: list[str], description: str, by: Coach, now: datetime) -> WebhookEndpoint:
    url = (url or "").strip()
    problem = url_problem(url)
    if problem:
        raise EndpointError("url", problem)
    chosen = [e for e in EVENT_TYPES if e in set(events or ())]
    if not chosen or len(chosen) != len(set(events)):
        raise EndpointError("events", "Pick at least one event from the list.")
    one_line = clean_line(" ".join((description or "").split()), 200)  # line breaks and tabs: spaces
    endpoint = WebhookEndpoint(url=url, events=chosen, description=one_line,
                               secret=new_secret(), active=True, created_by=by.id, created_at=now)
    db.session.add(endpoint)
    db.session.flush()
    forget()
    return endpoint


def set_active(endpoint: WebhookEndpoint, active: bool) -> None:
    endpoint.active = active
    forget()


def remove(endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its delivery log (queued deliveries are dropped with it)."""
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    forget()


def forget() -> None:
    """Drop this process's memory of the endpoint list (after any change to it)."""
    current_app.extensions.pop(_STATE, None)


def active() -> list[Subscribed]:
    """The active endpoints and their events; none without a query while "none" is remembered.

    On PostgreSQL the rows are read ``FOR KEY SHARE``: an endpoint deleted at the same moment
    waits for this transaction, so a delivery row never points at a deleted endpoint."""
    state = current_app.extensions.get(_STATE)
    if state is not None and time.monotonic() < state:
        return []
    query = select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True, key_share=True)
    with db.session.no_autoflush:
        rows = [Subscribed(i, frozenset(e or ())) for i, e in db.session.execute(query)]
    if not rows:
        current_app.extensions[_STATE] = time.monotonic() + current_app.config["WEBHOOKS_ENDPOINTS_TTL"]
    return rows
