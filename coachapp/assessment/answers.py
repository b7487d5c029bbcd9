"""Clean raw answers (HTML form strings or JSON values) into validated, JSON-safe values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from .model import Assessment, Question
from .templates import format_number

TRUE_WORDS = frozenset({"yes", "true", "on", "1"})
FALSE_WORDS = frozenset({"no", "false", "off", "0"})
TEXT_MAX = 500
NEEDS_ANSWER = "This question needs an answer."
Result = tuple[Any, str | None]


def _unit(q: Question) -> str:
    if not q.unit:
        return ""
    return q.unit if q.unit == "°" else f" {q.unit}"


def _range_message(q: Question, whole: bool) -> str:
    kind = "a whole number" if whole else "a number"
    return (
        f"Enter {kind} from {format_number(q.min or 0)} to {format_number(q.max or 0)}{_unit(q)}."
    )


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, list | tuple) and not value)
    )


def _scalar(value: Any) -> Any:
    """Unwrap a one-element list (some form libraries send every field as a list)."""
    if isinstance(value, list | tuple) and len(value) == 1:
        return value[0]
    return value


def _boolean(value: Any) -> Result:
    value = _scalar(value)
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int) and value in (0, 1):
        return bool(value), None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS, None
    return None, "Choose yes or no."


def _option_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value == int(value)
    ):
        return str(int(value))
    return None


def _single(q: Question, value: Any) -> Result:
    text = _option_text(_scalar(value))
    if text is None or text not in {o.value for o in q.options}:
        return None, "Choose one option."
    return text, None


def _multi(q: Question, value: Any) -> Result:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return None, "Choose from the listed options."
    choices = q.choices
    allowed = {o.value for o in choices}
    picked = {_option_text(v) for v in items}
    if not picked <= allowed:
        return None, "Choose from the listed options."
    exclusive = [o for o in choices if o.exclusive and o.value in picked]
    if exclusive and len(picked) > 1:
        return None, f"‘{exclusive[0].label}’ can’t be combined with other answers."
    return [o.value for o in choices if o.value in picked], None


def _to_number(value: Any) -> float | None:
    value = _scalar(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _numeric(q: Question, value: Any) -> Result:
    whole = q.type == "integer" or (q.type == "slider" and float(q.step or 1).is_integer())
    number = _to_number(value)
    if number is None or (whole and not number.is_integer()):
        return None, _range_message(q, whole)
    if (q.min is not None and number < q.min) or (q.max is not None and number > q.max):
        return None, _range_message(q, whole)
    if q.type == "slider" and q.step:
        steps = (number - (q.min or 0)) / q.step
        if abs(steps - round(steps)) > 1e-9:
            lo, hi, step = (format_number(x) for x in (q.min or 0, q.max or 0, q.step))
            return None, f"Choose a value from {lo} to {hi} in steps of {step}."
    return (int(number) if number.is_integer() else number), None


def _date(value: Any) -> Result:
    value = _scalar(value)
    if isinstance(value, date):
        return value.isoformat()[:10], None
    text = value.strip() if isinstance(value, str) else ""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            pass
    return None, "Enter a date as YYYY-MM-DD."


def _text(q: Question, value: Any) -> Result:
    value = _scalar(value)
    if not isinstance(value, str):
        return None, "Enter text."
    limit = int(q.max or TEXT_MAX)
    text = value.strip()
    if len(text) > limit:
        return None, f"Keep this under {limit} characters."
    return text, None


def clean_value(q: Question, value: Any) -> Result:
    """Clean one non-blank value; returns (value, None) or (None, error message)."""
    if q.type == "boolean":
        return _boolean(value)
    if q.type == "single_select":
        return _single(q, value)
    if q.type in ("multi_select", "checklist"):
        return _multi(q, value)
    if q.type in ("integer", "number", "slider"):
        return _numeric(q, value)
    if q.type == "date":
        return _date(value)
    return _text(q, value)


def clean_answers(
    assessment: Assessment,
    raw: Any,
    section_id: str | None = None,
    existing: Mapping[str, Any] | None = None,
    screen_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate raw answers; return (clean values, errors by question id). Never raises.

    With ``section_id`` only that section is cleaned (a web step) and other keys are
    ignored; a checklist missing from a submitted step counts as "none ticked" — except a
    self-test checklist, where nothing ticked means the test was not done. Without
    it every question is cleaned and unknown keys are errors. Hidden questions (``show_if``
    false, judged on ``existing`` plus the new values) are dropped and never required.
    """
    errors: dict[str, str] = {}
    if not isinstance(raw, Mapping):
        return {}, {"_form": "Answers must be a mapping of question ids to values."}
    if screen_id is not None:  # one screen of a web step (issue 9: one thing per screen)
        if not assessment.has_screen(screen_id):
            return {}, {"_section": "Unknown screen."}
        questions = assessment.screen(screen_id).questions
        section_id = assessment.screen(screen_id).section.id
    elif section_id is not None:
        if section_id not in {s.id for s in assessment.sections}:
            return {}, {"_section": "Unknown section."}
        questions = assessment.section(section_id).questions
    else:
        questions = assessment.questions
    own = {q.id for q in questions}
    facts = (
        {k: v for k, v in (existing or {}).items() if k not in own}
        if isinstance(existing, Mapping)
        else {}
    )
    values: dict[str, Any] = {}
    for q in questions:
        if not q.visible(facts):
            continue
        value = raw.get(q.id)
        if q.type == "checklist" and section_id is not None and value is None and q.test is None:
            value = []
        ticked_none = q.type == "checklist" and isinstance(value, list | tuple) and q.test is None
        if _is_blank(value) and not ticked_none:
            if q.required:
                errors[q.id] = NEEDS_ANSWER
            continue
        try:
            cleaned, error = clean_value(q, value)
        except Exception:  # a defensive net: bad input must never raise
            cleaned, error = None, "This answer couldn't be read."
        if error:
            errors[q.id] = error
            continue
        values[q.id] = cleaned
        facts[q.id] = cleaned
    if section_id is None:
        for key in raw:
            if key not in own:
                errors[str(key)] = "Unknown question id."
    return values, errors
