"""Pure navigation over the assessment's screens: one thing per screen (issue 9).

The order is: the core screens (one question each), the self-test offer, one screen per
self-test (left and right together), then the contact step. A screen is skipped when none of
its questions applies to the answers so far, so follow-ups appear only when they apply.
No database and no Flask here: the web layer passes the answers and what is done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coachapp.assessment import Rules
from coachapp.assessment.model import Screen

OFFER = "self-tests"  # the screen offering the optional self-tests (no question id has a dash)
CONTACT = "contact"


@dataclass(frozen=True)
class Progress:
    number: int  # this screen's position among the core screens that apply (1-based)
    total: int
    seconds_left: int  # the core still to answer, by the time budget in rules/


def order(rules: Rules) -> list[str]:
    """Every step id in order (screens, the offer, contact)."""
    core = [s.id for s in rules.assessment.screens if not s.section.optional]
    tests = [s.id for s in rules.assessment.screens if s.section.optional]
    return [*core, OFFER, *tests, CONTACT]


def is_step(rules: Rules, step_id: str) -> bool:
    return step_id in (OFFER, CONTACT) or rules.assessment.has_screen(step_id)


def applies(rules: Rules, step_id: str, answers: Mapping[str, Any]) -> bool:
    if step_id in (OFFER, CONTACT):
        return True
    return rules.assessment.screen(step_id).visible(answers)


def following(rules: Rules, step_id: str, answers: Mapping[str, Any]) -> str:
    """The next step that applies; from the offer, ``skip`` goes to contact instead."""
    ids = order(rules)
    for candidate in ids[ids.index(step_id) + 1 :]:
        if applies(rules, candidate, answers):
            return candidate
    return CONTACT


def previous(rules: Rules, step_id: str, answers: Mapping[str, Any]) -> str | None:
    ids = order(rules)
    for candidate in reversed(ids[: ids.index(step_id)]):
        if applies(rules, candidate, answers):
            return candidate
    return None


def core_screens(rules: Rules, answers: Mapping[str, Any]) -> list[Screen]:
    return [s for s in rules.assessment.screens if not s.section.optional and s.visible(answers)]


def done_ids(steps_done: Sequence[str], rules: Rules) -> set[str]:
    """Screens done; a section id saved by the earlier one-page-per-section flow counts for
    all of its screens, so an assessment started before the change resumes where it was."""
    done = set(steps_done)
    for screen in rules.assessment.screens:
        if screen.section.id in done:
            done.add(screen.id)
    return done


def progress(rules: Rules, step_id: str, answers: Mapping[str, Any], done: set[str]) -> Progress:
    screens = [s.id for s in core_screens(rules, answers)]
    if step_id in screens:
        number = screens.index(step_id) + 1
    else:
        number = len(screens) + (0 if step_id == OFFER else 1)
    seconds = rules.assessment.seconds_left(answers, done)
    return Progress(number=number, total=len(screens), seconds_left=seconds)


def sections_complete(rules: Rules, answers: Mapping[str, Any], done: set[str]) -> list[str]:
    """Sections whose screens that apply are all done (kept for the owner's drop-off chart)."""
    out = []
    for section in rules.assessment.sections:
        if section.optional:  # offered, then done or skipped: passing the offer completes it
            if OFFER in done:
                out.append(section.id)
            continue
        screens = [s for s in rules.assessment.screens if s.section is section and s.visible(answers)]
        if screens and all(s.id in done for s in screens):
            out.append(section.id)
    return out
