"""Frozen dataclasses describing the assessment (sections, questions, self-tests)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conditions import Condition

QUESTION_TYPES = (
    "boolean",
    "single_select",
    "multi_select",
    "integer",
    "number",
    "slider",
    "date",
    "checklist",
    "text",
)

# Estimated taps per answer (see rules/README.md, "Counting taps").
TAPS = {
    "boolean": 1.0,
    "single_select": 1.0,
    "slider": 1.0,
    "multi_select": 1.5,
    "integer": 3.0,
    "number": 3.0,
    "date": 3.0,
    "text": 3.0,
}
CONDITIONAL_WEIGHT = 0.5
TAPS_PER_STEP = 1.0


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class SelfTest:
    id: str
    title: str
    equipment: str | None
    minutes: int
    instructions: tuple[str, ...]
    safety_note: str | None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: str
    text: str
    help: str | None = None
    required: bool = False
    options: tuple[Option, ...] = ()
    items: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str | None = None
    placeholder: str | None = None
    show_if: Condition | None = None
    show_if_refs: tuple[str, ...] = ()
    show_if_spec: Mapping[str, Any] | None = None  # the DSL as written, for API documents
    test: SelfTest | None = None
    safety_relevant: bool = False  # a skipped answer is shown to the coach

    def visible(self, answers: Mapping[str, Any]) -> bool:
        """True when the question is shown for these answers."""
        return self.show_if is None or self.show_if.fn(answers)

    @property
    def choices(self) -> tuple[Option, ...]:
        """Options of a select, or items of a checklist."""
        return self.items if self.type == "checklist" else self.options

    def taps(self) -> float:
        """Estimated taps to answer; a checklist counts one tick per two items."""
        base = math.ceil(len(self.items) / 2) if self.type == "checklist" else TAPS[self.type]
        return base * (CONDITIONAL_WEIGHT if self.show_if is not None else 1.0)


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    intro: str | None
    optional: bool
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Assessment:
    id: str
    title: str
    version: int | str
    estimated_minutes: int
    sections: tuple[Section, ...]
    _sections: dict[str, Section] = field(default_factory=dict, repr=False, compare=False)
    _questions: dict[str, Question] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._sections.update({s.id: s for s in self.sections})
        self._questions.update({q.id: q for s in self.sections for q in s.questions})

    @property
    def questions(self) -> tuple[Question, ...]:
        """All questions in order."""
        return tuple(self._questions.values())

    def section(self, section_id: str) -> Section:
        return self._sections[section_id]

    def question(self, question_id: str) -> Question:
        return self._questions[question_id]

    def core_taps(self) -> int:
        """Estimated taps for the non-optional sections, one "Next" per step included."""
        total = sum(
            sum(q.taps() for q in s.questions) + TAPS_PER_STEP
            for s in self.sections
            if not s.optional
        )
        return math.floor(total + 0.5)
