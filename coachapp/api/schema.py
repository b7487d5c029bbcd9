"""The assessment definition as JSON (what ``GET /api/v1/assessment`` returns)."""

from __future__ import annotations

from typing import Any

from coachapp.assessment import Rules


def _option(option) -> dict[str, Any]:
    return {"value": option.value, "label": option.label, "exclusive": option.exclusive}


def question_document(question) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": question.id,
        "type": question.type,
        "text": question.text,
        "help": question.help,
        "required": question.required,
    }
    if question.options:
        doc["options"] = [_option(o) for o in question.options]
    if question.items:
        doc["items"] = [_option(o) for o in question.items]
    for key in ("min", "max", "step", "unit"):
        if getattr(question, key) is not None:
            doc[key] = getattr(question, key)
    if question.show_if is not None:
        doc["show_if"] = question.show_if_spec
    if question.test is not None:
        test = question.test
        doc["self_test"] = {
            "id": test.id,
            "title": test.title,
            "equipment": test.equipment,
            "minutes": test.minutes,
            "instructions": list(test.instructions),
            "safety_note": test.safety_note,
        }
    return doc


def assessment_document(rules: Rules) -> dict[str, Any]:
    assessment = rules.assessment
    return {
        "id": assessment.id,
        "title": assessment.title,
        "version": assessment.version,
        "rules_version": rules.version,
        "estimated_minutes": (assessment.core_seconds() + 59) // 60,
        "estimated_seconds": assessment.core_seconds(),
        "sections": [
            {
                "id": section.id,
                "title": section.title,
                "intro": section.intro,
                "optional": section.optional,
                "questions": [question_document(q) for q in section.questions],
            }
            for section in assessment.sections
        ],
    }
