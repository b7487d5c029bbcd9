"""Which leads get a coach task, and what a stage move does to the open ones (rules: the
`tasks` block of leads/priority.yaml). Pure: no database here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coachapp.assessment._schema import Issues, Node

OUTCOMES = {"reached": "Reached", "voicemail": "Left a voicemail", "no_answer": "No answer"}


@dataclass(frozen=True, slots=True)
class CallOutcome:
    stage: str | None  # move the lead here (and so close the task)
    retry_minutes: int | None  # or try again after this much working time


@dataclass(frozen=True, slots=True)
class ProgressTask:
    """A retake with real progress: a "you improved" task for the coach (``retake_progress``)."""

    min_improved_tests: int  # self-tests improved beyond their measurement error
    tiers: frozenset[str]  # the lead's tier after re-tiering
    due_working_minutes: int
    title: str

    def applies(self, improved_tests: int, tier: str | None, status: str) -> bool:
        """Never for a red flag (clinician first, no progress talk) or a closed lead."""
        return (status not in ("clinician_first", "closed") and tier in self.tiers
                and improved_tests >= self.min_improved_tests)


@dataclass(frozen=True, slots=True)
class TaskRules:
    after_assessment_tiers: frozenset[str] = frozenset()  # assessment-only leads that get a task
    close_on_stage: frozenset[str] = frozenset()  # moving here closes the first-contact task
    call_outcomes: Mapping[str, CallOutcome] = field(default_factory=dict)
    retake_progress: ProgressTask | None = None

    def task_after_assessment(self, tier: str | None, status: str) -> bool:
        """A red flag always needs a human; otherwise the tier decides."""
        return status == "clinician_first" or (tier in self.after_assessment_tiers)


def _outcomes(node: Node, stages: tuple[str, ...]) -> dict[str, CallOutcome]:
    out = {}
    raw = node.mapping("call_outcomes")
    for name in OUTCOMES:
        item = Node(raw.get(name), f"tasks call_outcomes '{name}'", node.issues, (),
                    ("stage", "retry_working_hours"))
        stage, hours = item.str("stage"), item.num("retry_working_hours")
        if (stage is None) == (hours is None):
            node.issues.add(item.where, "give either 'stage' or 'retry_working_hours'")
        if stage is not None and stage not in stages:
            node.issues.add(item.where, f"unknown stage '{stage}'")
        out[name] = CallOutcome(stage, None if hours is None else int(hours * 60))
    for name in set(raw) - set(OUTCOMES):
        node.issues.add("tasks call_outcomes", f"unknown outcome '{name}' (use {', '.join(OUTCOMES)})")
    return out


def _progress_task(node: Node, tiers: tuple[str, ...]) -> ProgressTask | None:
    if not node.has("retake_progress"):
        return None
    item = Node(node.raw("retake_progress"), "tasks retake_progress", node.issues,
                ("min_improved_tests", "tiers", "due", "title"))
    least = item.int("min_improved_tests")
    if least is None or least < 1:
        node.issues.add(item.where, "'min_improved_tests' must be a whole number >= 1")
    chosen = item.str_list("tiers")
    for tier in set(chosen) - set(tiers):
        node.issues.add(item.where, f"unknown tier '{tier}'")
    due = Node(item.raw("due"), f"{item.where} due", node.issues, ("working_hours",))
    hours = due.num("working_hours")
    if hours is None or hours <= 0:
        node.issues.add(due.where, "'working_hours' must be a number > 0")
    return ProgressTask(least or 1, frozenset(chosen), round((hours or 1) * 60), item.str("title") or "")


def load_task_rules(raw: Any, issues: Issues, tiers: tuple[str, ...], stages: tuple[str, ...]) -> TaskRules:
    node = Node(raw, "tasks", issues, ("after_assessment_tiers", "close_on_stage", "call_outcomes"),
                ("retake_progress",))
    after = node.str_list("after_assessment_tiers")
    for tier in set(after) - set(tiers):
        issues.add("tasks", f"unknown tier '{tier}' in after_assessment_tiers")
    close = node.str_list("close_on_stage")
    for stage in set(close) - set(stages):
        issues.add("tasks", f"unknown stage '{stage}' in close_on_stage")
    return TaskRules(frozenset(after), frozenset(close), _outcomes(node, stages), _progress_task(node, tiers))
