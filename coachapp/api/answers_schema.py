"""The ``Answers`` JSON Schema, generated from the rules so it says what ``clean_answers`` does.

The contract, checked by ``tests/web/test_api.py`` and schemathesis in ``tests/hostile/``:
every schema-valid body is accepted, and every answer the validator requires is required
here — unconditionally, or (OpenAPI 3.1 / JSON Schema 2020-12 ``if``/``then``) exactly when
its ``show_if`` condition makes the question visible. The validator is more lenient about
types than this schema (a form sends ``"30"`` where JSON sends ``30``); never stricter.
"""

from __future__ import annotations

import logging
from typing import Any

from coachapp.assessment import Question, Rules

logger = logging.getLogger(__name__)


class Unsupported(ValueError):
    """A ``show_if`` this translation cannot express (the requirement is then left out, loudly)."""


def answer_schema(question: Question) -> dict[str, Any]:
    kind = question.type
    schema: dict[str, Any]
    if kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "single_select":
        schema = {"type": "string", "enum": [o.value for o in question.options]}
    elif kind in {"multi_select", "checklist"}:
        schema = _choices_schema(question)
    elif kind in {"integer", "slider", "number"}:
        whole = kind == "integer" or (kind == "slider" and float(question.step or 1).is_integer())
        schema = {"type": "integer" if whole else "number"}
        step = question.step
        if kind == "slider" and step and step != 1 and (question.min or 0) % step == 0:
            # the validator allows only values on the slider's steps
            schema["multipleOf"] = int(step) if float(step).is_integer() else step
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "string", "maxLength": int(question.max or 500), "pattern": r"\S"}
    if kind in {"integer", "slider", "number"}:
        if question.min is not None:
            schema["minimum"] = question.min
        if question.max is not None:
            schema["maximum"] = question.max
    description = question.text + (f" ({question.unit})" if question.unit else "")
    if question.show_if is not None:
        description += " Only asked (and only required) when its show_if condition holds."
    schema["description"] = description
    return schema


def _choices_schema(question: Question) -> dict[str, Any]:
    choices = question.options if question.type == "multi_select" else question.items
    schema: dict[str, Any] = {"type": "array", "uniqueItems": True,
                              "items": {"type": "string", "enum": [o.value for o in choices]}}
    if question.required and _empty_is_blank(question):
        schema["minItems"] = 1  # an empty list is no answer to a required question
    exclusive = [o.value for o in choices if o.exclusive]
    if exclusive:  # "None of these" cannot be combined with anything else
        schema["not"] = {"allOf": [{"contains": {"enum": exclusive}}, {"minItems": 2}]}
    return schema


def _empty_is_blank(question: Question) -> bool:
    """An empty list counts as "not answered" — except for an ordinary checklist (none ticked)."""
    return question.type == "multi_select" or question.test is not None


def answers_schema(rules: Rules) -> dict[str, Any]:
    questions = rules.assessment.questions
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {q.id: answer_schema(q) for q in questions},
        "required": [q.id for q in questions if q.required and q.show_if is None],
    }
    by_id = {q.id: q for q in questions}
    conditional = []
    for q in questions:
        if not (q.required and q.show_if is not None):
            continue
        try:
            conditional.append({"if": _visible(q, by_id), "then": {"required": [q.id]}})
        except Unsupported as exc:
            logger.warning("OpenAPI: %s is required when shown, but %s", q.id, exc)
    if conditional:
        schema["allOf"] = conditional
    return schema


def visibility_schema(question: Question, questions) -> dict[str, Any]:
    """A schema that answers satisfy exactly when ``question`` is shown (raises Unsupported)."""
    return _visible(question, {q.id: q for q in questions})


def _visible(question: Question, by_id: dict[str, Question]) -> dict[str, Any]:
    if question.show_if_spec is None:
        return {}
    return _condition(question.show_if_spec, by_id)


def _condition(spec: Any, by_id: dict[str, Question]) -> dict[str, Any]:
    if "all" in spec:
        return {"allOf": [_condition(part, by_id) for part in spec["all"]]}
    if "any" in spec:
        return {"anyOf": [_condition(part, by_id) for part in spec["any"]]}
    if "not" in spec:
        return {"not": _condition(spec["not"], by_id)}
    return _leaf(spec, by_id)


def _present(question: Question, by_id: dict[str, Question]) -> dict[str, Any]:
    """The answer is a fact the next conditions see: given, not blank, its question visible."""
    parts: list[dict[str, Any]] = [{"required": [question.id]}]
    if question.type in {"multi_select", "checklist"} and _empty_is_blank(question):
        parts.append({"properties": {question.id: {"minItems": 1}}})
    if question.show_if_spec is not None:
        parts.append(_visible(question, by_id))
    return parts[0] if len(parts) == 1 else {"allOf": parts}


_NUMERIC = {"gt": "exclusiveMinimum", "gte": "minimum", "lt": "exclusiveMaximum", "lte": "maximum"}


def _leaf(spec: dict[str, Any], by_id: dict[str, Question]) -> dict[str, Any]:
    ref = spec["ref"]
    op, value = next((k, v) for k, v in spec.items() if k != "ref")
    head, _, item = ref.partition(".")
    question = by_id.get(head)
    if question is None:
        raise Unsupported(f"its condition reads '{ref}', which is not an answer")
    present = _present(question, by_id)
    if op == "exists":
        return present if value else {"not": present}
    if item:  # a checklist item reads as true/false once the checklist is answered
        if op not in ("eq", "ne") or not isinstance(value, bool):
            raise Unsupported(f"'{op}' on checklist item '{ref}' is not translated")
        ticked = {"properties": {head: {"contains": {"const": item}}}}
        return {"allOf": [present, ticked if value == (op == "eq") else {"not": ticked}]}
    value_schema: dict[str, Any]
    if op == "eq":
        value_schema = {"const": value}
    elif op == "ne":
        value_schema = {"not": {"const": value}}
    elif op == "in":
        value_schema = {"enum": list(value)}
    elif op == "not_in":
        value_schema = {"not": {"enum": list(value)}}
    elif op == "contains":
        value_schema = {"contains": {"const": value}}
    elif op == "contains_any":
        value_schema = {"contains": {"enum": list(value)}}
    elif op in _NUMERIC:
        value_schema = {_NUMERIC[op]: value}
    elif op == "between":
        value_schema = {"minimum": value[0], "exclusiveMaximum": value[1]}
    else:
        raise Unsupported(f"operator '{op}' is not translated")
    return {"allOf": [present, {"properties": {head: value_schema}}]}
