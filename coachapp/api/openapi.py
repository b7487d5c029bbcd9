"""OpenAPI 3.1 description, generated from the same rules the API validates with."""

from __future__ import annotations

from typing import Any

from coachapp.assessment import Rules


def _answer_schema(question) -> dict[str, Any]:
    kind = question.type
    schema: dict[str, Any]
    if kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "single_select":
        schema = {"type": "string", "enum": [o.value for o in question.options]}
    elif kind in {"multi_select", "checklist"}:
        choices = question.options if kind == "multi_select" else question.items
        schema = {"type": "array", "uniqueItems": True,
                  "items": {"type": "string", "enum": [o.value for o in choices]}}
    elif kind in {"integer", "slider"}:
        schema = {"type": "integer"}
    elif kind == "number":
        schema = {"type": "number"}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "string", "maxLength": 500}
    if kind in {"integer", "slider", "number"}:
        if question.min is not None:
            schema["minimum"] = question.min
        if question.max is not None:
            schema["maximum"] = question.max
    description = question.text + (f" ({question.unit})" if question.unit else "")
    if question.show_if is not None:
        description += " Only asked when its show_if condition holds."
    schema["description"] = description
    return schema


def openapi_document(rules: Rules) -> dict[str, Any]:
    questions = rules.assessment.questions
    answers = {
        "type": "object",
        "additionalProperties": False,
        "properties": {q.id: _answer_schema(q) for q in questions},
        "required": [q.id for q in questions if q.required and q.show_if is None],
    }
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
        },
    }
    contact = {
        "type": "object",
        "additionalProperties": False,
        "required": ["first_name", "email", "consent_health"],
        "properties": {
            "first_name": {"type": "string", "minLength": 1, "maxLength": 80},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "consent_health": {"type": "boolean", "const": True},
            "consent_marketing": {"type": "boolean", "default": False},
            "time_zone": {"type": "string", "description": "IANA zone; follow-up emails are timed to its daytime."},
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
                        "400": {"description": "Body is not a JSON object", "content": json_error},
                        "422": {"description": "Per-field validation errors", "content": json_error},
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
