"""Honeypot and time trap for the public forms that send email (the assessment's contact screen,
the strategy-session form).

- **Honeypot:** a text field people never see or reach (visually hidden, ``aria-hidden``,
  ``tabindex=-1``, ``autocomplete=off``, a name no browser autofills). Filled in → a bot: it gets
  a neutral "received" page (200) and nothing is stored or sent.
- **Time trap:** the form carries a signed timestamp of when it was first shown (kept when the
  form comes back with errors). Sent back sooner than ``FORM_MIN_SECONDS`` → too fast for a
  person: nothing is stored or sent and the form is shown again, answers kept, asking to press
  the button once more (a bot sees a 200; a person who really was that quick loses nothing). A
  missing, stale or unreadable timestamp is "unknown", never a reason to refuse.
"""

from __future__ import annotations

import logging
import time
from enum import Enum

from flask import current_app, render_template
from itsdangerous import BadData, URLSafeSerializer
from wtforms import HiddenField, StringField

logger = logging.getLogger(__name__)

SALT = "coachapp.form-shown"
HONEYPOT = "reference_code"  # no autofill heuristic maps it; a bot sees just another field
AGAIN = "Almost there — please check your details and press the button again."


class Verdict(Enum):
    PERSON = "person"
    BOT = "bot"  # the honeypot was filled in
    TOO_FAST = "too_fast"  # sent back sooner than a person could


class HumanCheck:
    """Mixed into a FlaskForm: the honeypot and the time stamp (render with
    ``templates/public/_human_check.html``)."""

    reference_code = StringField("Leave this field empty", render_kw={"autocomplete": "off", "tabindex": "-1"})
    shown_at = HiddenField()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def now() -> float:
    """The clock (a function, so tests can move it)."""
    return time.time()


def _shown_at(token: str | None) -> float | None:
    if not token:
        return None
    try:
        value = _serializer().loads(token)
    except BadData:
        return None
    return float(value) if isinstance(value, int | float) else None


def stamp(form: HumanCheck) -> None:
    """Give the form its "shown at" time — unless it already carries a valid one (a form shown
    again with errors keeps the time it was first shown)."""
    if _shown_at(form.shown_at.data) is None:
        form.shown_at.data = _serializer().dumps(round(now(), 3))


def verdict(form: HumanCheck, name: str) -> Verdict:
    """Person, bot or too fast, from the posted form (before its other fields are validated)."""
    if (form.reference_code.data or "").strip():
        logger.info("public form %s: honeypot filled in; nothing stored", name)
        return Verdict.BOT
    shown = _shown_at(form.shown_at.data)
    minimum = float(current_app.config.get("FORM_MIN_SECONDS", 2.0))
    if shown is not None and 0 <= now() - shown < minimum:
        logger.info("public form %s: sent %.2f s after it was shown; nothing stored", name, now() - shown)
        return Verdict.TOO_FAST
    return Verdict.PERSON


def received_page() -> str:
    """What a bot gets: a neutral, successful-looking page."""
    return render_template("public/received.html")
