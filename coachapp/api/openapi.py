"""OpenAPI 3.1 description, generated from the same rules the API validates with."""

from __future__ import annotations

from typing import Any

from coachapp.api.answers_schema import answers_schema
from coachapp.assessment import Rules

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
#: Plain ASCII addresses that email-validator (what the API uses) always accepts: dot-atom local
#: part up to 64 characters, hostname labels without "--", an alphabetic top-level domain.
EMAIL_PATTERN = (rf"^[{_ATEXT}]{{1,32}}(?:\.[{_ATEXT}]{{1,15}}){{0,2}}"
                 r"@(?:[A-Za-z0-9]{1,20}(?:-[A-Za-z0-9]{1,20}){0,2}\.){1,4}[A-Za-z]{2,24}$")
#: Special-use domains email-validator refuses (RFC 6761 and friends), in any case.
RESERVED_DOMAINS = r"\.(?:" + "|".join(
    "".join(f"[{c.upper()}{c}]" for c in name) for name in ("arpa", "invalid", "local", "localhost", "onion", "test")
) + ")$"
#: A first name: one line, no control characters, not only spaces (what ``api._contact`` checks).
NAME_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"


def openapi_document(rules: Rules, time_zones: list[str]) -> dict[str, Any]:
    answers = answers_schema(rules)
    error = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Per-field messages, keyed 'answers.<id>' or 'contact.<field>'."},
        },
    }
    result = {
        "type": "object",
        "required": ["rules_version", "safety", "regions", "stability", "flags", "priorities", "plan"],
        "properties": {
            "rules_version": {"type": "string"},
            "safety": {"type": "object",
                       "description": "level ok|amber|red; outcome plan|plan_limited|see_clinician; fired rules; "
                                      "gates (amber: what the plan leaves out or holds)."},
            "derived": {"type": "object"},
            "regions": {"type": "array", "items": {"type": "object"},
                        "description": "Restriction score 0–100 per region with the fired rules (the 'why'), "
                                       "finding (normal|borderline|restricted|marked from a self-test, else null), "
                                       "confidence and confidence_label, worse_side."},
            "stability": {"type": "object"},
            "flags": {"type": "array", "items": {"type": "object"}},
            "priorities": {"type": "array", "items": {"type": "object"},
                           "description": "Never a region whose self-test result is normal; may be empty."},
            "plan": {"type": ["object", "null"],
                     "description": "null when a red flag routes to a clinician; limited.changes on amber."},
            "notes": {"type": "array", "items": {"type": "string"}},
            "skipped_safety": {"type": "array", "items": {"type": "object"},
                               "description": "Safety-relevant questions shown but not answered."},
            "progress": {"type": "object",
                         "description": "A returning runner (same email) only, never on a red flag: the comparison "
                                        "with their previous assessment (previous_date; tests: each self-test's "
                                        "sides with verdict improved|decreased|within_error|not_measured_before|"
                                        "not_measured_now judged against its measurement error, and the history "
                                        "of every attempt; priorities moved/new/resolved/dropped; flags "
                                        "appeared/cleared; improved_tests)."},
        },
    }
    contact = {
        "type": "object",
        "additionalProperties": False,
        "required": ["first_name", "email", "consent_health"],
        "properties": {
            "first_name": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": NAME_PATTERN,
                           "description": "One line: no control characters, not only spaces."},
            "email": {"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN,
                      "not": {"pattern": RESERVED_DOMAINS},
                      "description": "An email address. The API accepts what email-validator accepts "
                                     "(internationalised addresses too); the pattern is its plain-ASCII core. "
                                     "Special-use domains (.test, .invalid, .local, .localhost, .onion, .arpa) "
                                     "are refused."},
            "consent_health": {"type": "boolean", "const": True},
            "consent_marketing": {"type": "boolean", "default": False},
            "time_zone": {"type": "string", "enum": time_zones,
                          "description": "IANA zone; follow-up emails are timed to its daytime."},
        },
    }
    json_error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "coachapp Runner Assessment API",
            "version": "1",
            "description": "Score a Runner Assessment. Without `contact` the answers are scored and "
            "not stored; with `contact` (and health-data consent) a lead and submission are stored "
            f"and the plan is emailed. Rules version: {rules.version}.",
        },
        "paths": {
            "/api/v1/assessment": {
                "get": {
                    "summary": "The assessment's sections and questions",
                    "responses": {"200": {"description": "Question definitions",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                }
            },
            "/api/v1/assessments": {
                "post": {
                    "summary": "Score answers (and store them when contact + consent are given)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["answers"],
                            "properties": {
                                "answers": {"$ref": "#/components/schemas/Answers"},
                                "contact": {"$ref": "#/components/schemas/Contact"},
                            },
                        }}},
                    },
                    "responses": {
                        "200": {"description": "Scored, not stored", "content": {"application/json": {
                            "schema": {"type": "object", "properties": {
                                "stored": {"const": False},
                                "result": {"$ref": "#/components/schemas/Result"}}}}}},
                        "201": {"description": "Scored and stored; plan email queued",
                                "content": {"application/json": {"schema": {"type": "object", "properties": {
                                    "stored": {"const": True},
                                    "submission_id": {"type": "integer"},
                                    "lead_id": {"type": "integer"},
                                    "results_url": {"type": "string"},
                                    "result": {"$ref": "#/components/schemas/Result"}}}}}},
                        "400": {"description": "Body is not a JSON object, not valid JSON (NaN, a lone "
                                               "surrogate) or nested deeper than 32 levels",
                                "content": json_error},
                        "422": {"description": "Per-field validation errors (a control character in any "
                                               "string is one)", "content": json_error},
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {"summary": "This document",
                        "responses": {"200": {"description": "OpenAPI 3.1",
                                              "content": {"application/json": {"schema": {"type": "object"}}}}}}
            },
        },
        "components": {
            "schemas": {"Answers": answers, "Contact": contact, "Result": result, "Error": error}
        },
    }
