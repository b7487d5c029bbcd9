"""Which assessment questions the Outcomes page breaks down, and how a stored answer is named (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from coachapp.assessment.model import Assessment

#: Question types with a fixed set of answers (numbers, sliders and dates have none).
CHOICE_TYPES = ("single_select", "multi_select", "checklist", "boolean")
#: How a stored answer reads when it has no option of its own.
NONE_TICKED = "[]"
YES, NO = "true", "false"


@dataclass(frozen=True)
class CoreQuestion:
    id: str
    text: str
    type: str
    options: tuple[tuple[str, str], ...]  # (value, label) in the rules' order

    @property
    def multiple(self) -> bool:
        return self.type in ("multi_select", "checklist")

    def label(self, value: str) -> str:
        """The option's label; "None ticked" for an empty checklist; the raw value if unknown."""
        return dict(self.options).get(value) or (
            "None ticked" if value == NONE_TICKED else value)

    def order(self, value: str) -> int:
        values = [v for v, _ in self.options]
        return values.index(value) if value in values else len(values)


def core_questions(assessment: Assessment) -> list[CoreQuestion]:
    """The core questions with options: not in an optional section, not a self-test, in the rules' order."""
    out = []
    for section in assessment.sections:
        if section.optional:
            continue
        for q in section.questions:
            if q.test is not None or q.type not in CHOICE_TYPES:
                continue
            if q.type == "boolean":
                options: tuple[tuple[str, str], ...] = ((YES, "Yes"), (NO, "No"))
            else:
                options = tuple((o.value, o.label) for o in q.choices)
                if q.type == "checklist":
                    options += ((NONE_TICKED, "None ticked"),)
            out.append(CoreQuestion(q.id, q.text, q.type, options))
    return out


def answer_value(raw: object) -> str | None:
    """A value as the database hands it back (JSON text on PostgreSQL, SQL values on SQLite) → the
    option value: booleans as "true"/"false" (SQLite's 1/0 included), numbers and text as text."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return YES if raw else NO
    text = str(raw)
    return {"1": YES, "0": NO}.get(text, text) if isinstance(raw, int) else text
