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
class TaskRules:
    after_assessment_tiers: frozenset[str] = frozenset()  # assessment-only leads that get a task
    close_on_stage: frozenset[str] = frozenset()  # moving here closes the first-contact task
    call_outcomes: Mapping[str, CallOutcome] = field(default_factory=dict)

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


def load_task_rules(raw: Any, issues: Issues, tiers: tuple[str, ...], stages: tuple[str, ...]) -> TaskRules:
    node = Node(raw, "tasks", issues, ("after_assessment_tiers", "close_on_stage", "call_outcomes"))
    after = node.str_list("after_assessment_tiers")
    for tier in set(after) - set(tiers):
        issues.add("tasks", f"unknown tier '{tier}' in after_assessment_tiers")
    close = node.str_list("close_on_stage")
    for stage in set(close) - set(stages):
        issues.add("tasks", f"unknown stage '{stage}' in close_on_stage")
    return TaskRules(frozenset(after), frozenset(close), _outcomes(node, stages))
