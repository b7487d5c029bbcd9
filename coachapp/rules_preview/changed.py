"""What a version changes against the live rules, for the preview (issue 15.3): the areas of the
files (each with its changed fields in words), every email an owner may reword (the ones whose
copy differs rendered under both, the rest listed as unchanged) and the assessment screens whose
question texts or labels changed. Reads only: the renders go through ``pages.sample_email``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from coachapp.assessment import Rules
from coachapp.emails.messages import Rendered
from coachapp.models import RulesVersion
from coachapp.rules_preview import pages, samples
from coachapp.rules_versions import changes, copy_text, edits, services
from coachapp.rules_versions.email_copy import override_in

AREA_LABELS = {"questions": "Questions", "sequences": "Follow-up timing", "priority": "Lead priority"}
#: Emails only a runner with enough priorities gets (rules/sequences.yaml: ``has_priorities``,
#: ``priority_count gte 2``); the templates read those priorities.
NEEDS_PRIORITIES = {"nurture_drill_top_priority": 1, "nurture_second_priority": 2}


def qualifies(name: str, result: Mapping[str, Any]) -> bool:
    """Whether a runner with ``result`` can get email ``name`` (so its template can render)."""
    return len(result.get("priorities") or ()) >= NEEDS_PRIORITIES.get(name, 0)


@dataclass(frozen=True)
class Area:
    label: str
    changes: tuple[str, ...]  # the changed fields in words; empty: unchanged
    changed: bool


@dataclass(frozen=True)
class Email:
    name: str
    title: str
    changed: bool
    live: Rendered | None = None  # rendered only when changed
    draft: Rendered | None = None
    sample: str | None = None  # the runner shown when the picked one would not get it ("persona:<id>")
    runner: str = ""  # that runner's label


@dataclass(frozen=True)
class Screen:
    question: str
    text: str  # the draft's question text
    what: tuple[str, ...]  # what changed on it


@dataclass(frozen=True)
class WhatChanged:
    areas: tuple[Area, ...]
    emails: tuple[Email, ...]
    screens: tuple[Screen, ...]
    unchanged_questions: int

    @property
    def changed_emails(self) -> tuple[Email, ...]:
        return tuple(e for e in self.emails if e.changed)


def _copy_differs(old: Mapping[str, Any], new: Mapping[str, Any], name: str) -> bool:
    return override_in(old, name) != override_in(new, name)


def what_changed(live: RulesVersion | None, draft: RulesVersion, rules: Mapping[str, Rules],
                 answers: dict[str, Any], today: date) -> WhatChanged:
    """``rules``: {"live": …, "draft": …}; the sample runner's ``answers`` for the renders."""
    live_texts = live.files if live else services.shipped_texts()
    live_copy, draft_copy = (live.copy or {}) if live else {}, draft.copy or {}
    found = changes.field_changes(live_texts, draft.files)
    edited = {f for files in edits.AREAS.values() for f in files}
    areas = [Area(label, tuple(c.words for c in found if c.area == key), any(c.area == key for c in found)
                  or any(live_texts.get(f) != draft.files.get(f) for f in edits.AREAS[key]))
             for key, label in AREA_LABELS.items()]
    others = [f for f in changes.changed_files(live_texts, draft.files) if f not in edited]
    areas.append(Area("Other rule files", tuple(others), bool(others)))
    copy_words = changes.copy_changes(live_copy, draft_copy)
    areas.insert(1, Area("Emails", tuple(copy_words), bool(copy_words)))

    results = {which: pages.result_of(r, answers, today) for which, r in rules.items()}
    emails = []
    for name, email in copy_text.EMAILS.items():
        if not _copy_differs(live_copy, draft_copy, name):
            emails.append(Email(name, email.title, False))
            continue
        key, label, shown = _runner_for(name, results, rules, today)
        emails.append(Email(name, email.title, True, *(
            (pages.sample_email(name, live, shown["live"]), pages.sample_email(name, draft, shown["draft"]))
            if shown else (None, None)), sample=key, runner=label))

    both = {q.id for q in rules["live"].assessment.questions} & {q.id for q in rules["draft"].assessment.questions}
    screens = tuple(Screen(qid, rules["draft"].assessment.question(qid).text, tuple(what))
                    for qid, what in changes.changed_questions(found) if qid in both)
    return WhatChanged(tuple(areas), tuple(emails), screens, len(both) - len(screens))


def _runner_for(name: str, results: dict[str, dict[str, Any]], rules: Mapping[str, Rules],
                today: date) -> tuple[str | None, str, dict[str, dict[str, Any]] | None]:
    """(sample key, label, results) to show email ``name`` with: the picked runner (None, "") when
    they would get it under both sides, else the first built-in runner who would (None results: none)."""
    if all(qualifies(name, r) for r in results.values()):
        return None, "", results
    for persona in samples.PERSONAS:
        answers = persona.answers(today)
        found = {which: pages.result_of(r, answers, today) for which, r in rules.items()}
        if all(qualifies(name, r) for r in found.values()):
            return f"persona:{persona.id}", persona.label, found
    return None, "", None
