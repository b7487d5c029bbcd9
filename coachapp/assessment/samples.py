"""Deterministic random answer sets built from the question definitions (tests, bench, demos)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from .model import Assessment, Question


def _value(q: Question, rng: random.Random, today: date) -> Any:
    if q.type == "boolean":
        return rng.random() < 0.12
    if q.type == "single_select":
        return rng.choice(q.options).value
    if q.type in ("multi_select", "checklist"):
        choices = q.choices
        exclusive = [o for o in choices if o.exclusive]
        if exclusive and rng.random() < 0.85:
            return [exclusive[0].value]
        plain = [o.value for o in choices if not o.exclusive]
        picked = set(
            # a self-test checklist with nothing ticked is "not done", so it is never sampled
            rng.sample(plain, rng.randint(0 if q.type == "checklist" and not q.test else 1,
                                          min(4, len(plain))))
        )
        return [v for v in plain if v in picked]
    if q.type == "date":
        return (today + timedelta(days=rng.randint(-14, 300))).isoformat()
    if q.type == "text":
        return "sample"
    lo, hi = q.min or 0, q.max or 0
    step = q.step or 1
    value = lo + step * rng.randint(0, int((hi - lo) / step))
    return int(value) if float(value).is_integer() else value


def random_answers(
    assessment: Assessment, rng: random.Random, today: date, answer_rate: float = 0.85
) -> dict[str, Any]:
    """A clean, valid answer set; required questions are always answered."""
    answers: dict[str, Any] = {}
    do_tests = rng.random() < 0.5
    for section in assessment.sections:
        if section.optional and not do_tests:
            continue
        for q in section.questions:
            if not q.visible(answers):
                continue
            if q.required or rng.random() < answer_rate:
                answers[q.id] = _value(q, rng, today)
    return answers
