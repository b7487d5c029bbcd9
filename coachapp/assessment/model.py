"""Frozen dataclasses describing the assessment (sections, questions, self-tests)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .conditions import Condition

if TYPE_CHECKING:
    from .measurement import Measurement

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

#: A question shown only under a condition counts this much in the typical runner's budget.
CONDITIONAL_WEIGHT = 0.5
#: Types a single tap answers: a screen holding just one of these moves on by itself.
AUTO_ADVANCE = ("boolean", "single_select")
NARROW_SCALE = 10  # a slider with at most this range is drawn as buttons (tap to answer)


@dataclass(frozen=True, slots=True)
class TypeCost:
    seconds: float  # to read and answer a question of this type
    taps: float  # for a typical answer, without the screen's Next


@dataclass(frozen=True, slots=True)
class Budget:
    """The time budget (rules: assessment `budget`): what the runner is promised."""

    costs: Mapping[str, TypeCost]
    screen_seconds: float  # a page change
    max_core_seconds: float
    max_core_taps: float


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
    measurement: Measurement | None = None  # how a retake compares it (None: not compared)


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
    screen: str | None = None  # questions sharing a screen id are shown together (left/right)

    def visible(self, answers: Mapping[str, Any]) -> bool:
        """True when the question is shown for these answers."""
        return self.show_if is None or self.show_if.fn(answers)

    @property
    def choices(self) -> tuple[Option, ...]:
        """Options of a select, or items of a checklist."""
        return self.items if self.type == "checklist" else self.options

    @property
    def auto_advance(self) -> bool:
        """One tap answers it: boolean, single choice, or a narrow scale drawn as buttons."""
        narrow = self.type == "slider" and (self.max or 0) - (self.min or 0) <= NARROW_SCALE
        return self.type in AUTO_ADVANCE or narrow


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    intro: str | None
    optional: bool
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Screen:
    """One thing per screen: a question, or a tight pair such as left/right of a test."""

    id: str
    section: Section
    questions: tuple[Question, ...]

    def visible(self, answers: Mapping[str, Any]) -> bool:
        return any(q.visible(answers) for q in self.questions)

    @property
    def conditional(self) -> bool:
        return all(q.show_if is not None for q in self.questions)

    @property
    def auto_advance(self) -> bool:
        return len(self.questions) == 1 and self.questions[0].auto_advance

    def cost(self, budget: Budget) -> tuple[float, float]:
        """(seconds, taps) for a typical answer, the page change and Next included."""
        seconds = budget.screen_seconds + sum(budget.costs[q.type].seconds for q in self.questions)
        taps = sum(budget.costs[q.type].taps for q in self.questions)
        return seconds, taps + (0 if self.auto_advance else 1)


@dataclass(frozen=True)
class Assessment:
    id: str
    title: str
    version: int | str
    sections: tuple[Section, ...]
    budget: Budget
    retake_prefill: tuple[str, ...] = ()  # answers a retake starts with (stable facts)
    _sections: dict[str, Section] = field(default_factory=dict, repr=False, compare=False)
    _questions: dict[str, Question] = field(default_factory=dict, repr=False, compare=False)
    _screens: dict[str, Screen] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._sections.update({s.id: s for s in self.sections})
        self._questions.update({q.id: q for s in self.sections for q in s.questions})
        for section in self.sections:
            group: list[Question] = []
            for q in section.questions:
                if group and (q.screen is None or q.screen != group[0].screen):
                    self._add_screen(section, group)
                    group = []
                group.append(q)
            if group:
                self._add_screen(section, group)

    def _add_screen(self, section: Section, questions: list[Question]) -> None:
        ident = questions[0].screen or questions[0].id
        self._screens[ident] = Screen(ident, section, tuple(questions))

    @property
    def questions(self) -> tuple[Question, ...]:
        """All questions in order."""
        return tuple(self._questions.values())

    def section(self, section_id: str) -> Section:
        return self._sections[section_id]

    def question(self, question_id: str) -> Question:
        return self._questions[question_id]

    @property
    def screens(self) -> tuple[Screen, ...]:
        """Every screen in order."""
        return tuple(self._screens.values())

    def screen(self, screen_id: str) -> Screen:
        return self._screens[screen_id]

    def has_screen(self, screen_id: str) -> bool:
        return screen_id in self._screens

    def core_cost(self) -> tuple[float, float]:
        """(seconds, taps) of the core for a typical runner: a conditional screen counts
        CONDITIONAL_WEIGHT of its cost (it is shown to some runners, not all)."""
        seconds = taps = 0.0
        for screen in self.screens:
            if screen.section.optional:
                continue
            weight = CONDITIONAL_WEIGHT if screen.conditional else 1.0
            s, t = screen.cost(self.budget)
            seconds, taps = seconds + s * weight, taps + t * weight
        return seconds, taps

    def core_taps(self) -> int:
        return math.floor(self.core_cost()[1] + 0.5)

    def core_seconds(self) -> int:
        return math.floor(self.core_cost()[0] + 0.5)

    def seconds_left(self, answers: Mapping[str, Any], done: set[str]) -> int:
        """Seconds for the core screens still to answer, judged on the answers so far: a
        screen that depends on an unanswered question counts CONDITIONAL_WEIGHT."""
        total = 0.0
        for screen in self.screens:
            if screen.section.optional or screen.id in done:
                continue
            refs = {r for q in screen.questions for r in q.show_if_refs}
            if screen.conditional and refs - set(answers):
                total += screen.cost(self.budget)[0] * CONDITIONAL_WEIGHT
            elif screen.visible(answers):
                total += screen.cost(self.budget)[0]
        return math.floor(total + 0.5)
