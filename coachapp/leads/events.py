"""What happened to a lead, for the parts of the app that react to it (one direction only).

``leads`` owns leads and never imports the follow-up sequences: its services *emit* a
``LeadChanged`` and ``followups`` subscribes to it (``followups.wire``, called by ``create_app``).
Handlers run synchronously inside the caller's transaction, so a reaction (re-planning the
sequences, starting one) commits or rolls back together with the change that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coachapp.assessment import Rules
    from coachapp.models import AssessmentSubmission, Lead, StrategyRequest

    #: The lead's latest completed assessment and latest strategy request.
    Latest = tuple[AssessmentSubmission | None, StrategyRequest | None]


@dataclass(frozen=True)
class LeadChanged:
    """The lead's facts changed (stage, reply, submission, contact…): re-check what is planned.

    ``start`` names the sequence triggers this change fires (``assessment_completed``,
    ``strategy_requested``, ``red_flag``, ``stage_no_show``), in order.

    What the emitter already holds, so a handler need not read it back (issue 12: no
    read-after-write): ``latest`` is the lead's latest assessment and request when known (a
    submission just built is the latest by construction); ``created`` says the lead was created
    in this transaction, so it has nothing planned, no finished task and no earlier rows.

    What happened, for subscribers that report it (``webhooks_out``): ``occurred`` is
    ``assessment_completed`` (``latest[0]`` is that submission), ``strategy_requested``
    (``latest[1]`` is that request) or ``stage_changed`` (``stage_before`` → ``lead.stage``).
    """

    rules: Rules
    lead: Lead
    now: datetime
    start: tuple[str, ...] = ()
    latest: Latest | None = None
    created: bool = False
    occurred: str | None = None
    stage_before: str | None = None


Handler = Callable[[LeadChanged], None]
_handlers: list[Handler] = []


def subscribe(handler: Handler) -> None:
    """Register a handler once (idempotent, so building the app twice does not double it)."""
    if handler not in _handlers:
        _handlers.append(handler)


def emit(event: LeadChanged) -> None:
    for handler in tuple(_handlers):
        handler(event)
