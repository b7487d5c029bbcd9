"""JSON API v1 on the same engine as the web flow.

- ``GET  /api/v1/assessment``      the question definitions
- ``POST /api/v1/assessments``     answers (+ optional contact) → scores, flags, safety, trace, plan
- ``GET  /api/v1/openapi.json``    the OpenAPI description
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from coachapp.api.openapi import openapi_document
from coachapp.api.schema import assessment_document
from coachapp.assessment import clean_answers, evaluate
from coachapp.emails import outbox
from coachapp.extensions import db, limiter
from coachapp.leads import assessments as flow
from coachapp.leads.services import Contact, InvalidEmail
from coachapp.links import external_url
from coachapp.models import utcnow
from coachapp.rules_store import get_rules
from coachapp.textclean import has_controls

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CONTACT_FIELDS = {"first_name", "email", "consent_health", "consent_marketing", "time_zone"}


@bp.get("/assessment")
def assessment_definition() -> Response:
    return jsonify(assessment_document(get_rules()))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(get_rules(), time_zones()))


@bp.post("/assessments")
@limiter.limit("60/minute;600/hour")
def create_assessment() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "invalid_json", "Send a JSON object with an 'answers' object.")
    unknown = set(body) - {"answers", "contact"}
    answers = body.get("answers")
    if unknown or not isinstance(answers, dict):
        errors = {key: "Unknown field." for key in sorted(unknown)}
        if not isinstance(answers, dict):
            errors["answers"] = "Required: an object keyed by question id."
        return _unprocessable(errors)

    rules = get_rules()
    values, answer_errors = clean_answers(rules.assessment, answers)
    errors = {f"answers.{key}": message for key, message in answer_errors.items()}
    contact, contact_errors = _contact(body.get("contact"))
    errors.update(contact_errors)
    if errors:
        return _unprocessable(errors)

    now = utcnow()
    if contact is None:  # scored, not stored: no consent to keep health data
        result = evaluate(rules, values, today=now.date()).to_dict()
        return jsonify(stored=False, result=result), 200

    submission = flow.start({"utm_source": "api"}, now, channel="api", flush=False)
    flow.save_step_all(rules, submission, values, now)
    try:
        completion = flow.complete(rules, submission, contact, now)
    except InvalidEmail:
        return _unprocessable({"contact.email": "That doesn't look like an email address."})
    db.session.flush()
    body = {  # built before the commit, which expires the rows (no reading them back after)
        "stored": True,
        "submission_id": submission.id,
        "lead_id": completion.lead.id,
        "results_url": external_url("public.results", token=submission.token),
        "result": submission.result,
    }
    outbox.commit()
    return jsonify(body), 201


def _contact(raw: Any) -> tuple[Contact | None, dict[str, str]]:
    if raw is None:
        return None, {}
    if not isinstance(raw, dict):
        return None, {"contact": "Must be an object."}
    errors = {f"contact.{key}": "Unknown field." for key in sorted(set(raw) - CONTACT_FIELDS)}
    first_name = raw.get("first_name")
    email = raw.get("email")
    if not isinstance(first_name, str) or not first_name.strip() or len(first_name) > 80:
        errors["contact.first_name"] = "Required: 1–80 characters."
    elif has_controls(first_name):
        errors["contact.first_name"] = "One line, without control characters."
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        errors["contact.email"] = "Required: an email address."
    if raw.get("consent_health") is not True:
        errors["contact.consent_health"] = (
            "Must be true: we only store health answers with explicit consent."
        )
    marketing = raw.get("consent_marketing", False)
    if not isinstance(marketing, bool):
        errors["contact.consent_marketing"] = "Must be true or false."
    time_zone = raw.get("time_zone")
    if time_zone is not None and not _is_zone(time_zone):
        errors["contact.time_zone"] = "An IANA time zone, e.g. America/Chicago."
    if errors:
        return None, errors
    return Contact(first_name.strip(), email, True, marketing, time_zone), {}


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    """The IANA zones the API accepts (and the OpenAPI document lists)."""
    return sorted(available_timezones())


def _is_zone(value: Any) -> bool:
    return isinstance(value, str) and value in _zone_set()


@lru_cache(maxsize=1)
def _zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error=code, message=message), status


def _unprocessable(errors: dict[str, str]) -> tuple[Response, int]:
    return jsonify(error="validation_failed",
                   message="Some fields need attention.", errors=errors), 422
