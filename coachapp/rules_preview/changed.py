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
from coachapp.rules_preview import pages
from coachapp.rules_versions import changes, copy_text, edits, services
from coachapp.rules_versions.email_copy import override_in

AREA_LABELS = {"questions": "Questions", "sequences": "Follow-up timing", "priority": "Lead priority"}


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
        if _copy_differs(live_copy, draft_copy, name):
            emails.append(Email(name, email.title, True, pages.sample_email(name, live, results["live"]),
                                pages.sample_email(name, draft, results["draft"])))
        else:
            emails.append(Email(name, email.title, False))

    both = {q.id for q in rules["live"].assessment.questions} & {q.id for q in rules["draft"].assessment.questions}
    screens = tuple(Screen(qid, rules["draft"].assessment.question(qid).text, tuple(what))
                    for qid, what in changes.changed_questions(found) if qid in both)
    return WhatChanged(tuple(areas), tuple(emails), screens, len(both) - len(screens))
