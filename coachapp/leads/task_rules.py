"""Which leads get a coach task, and what a stage move does to the open ones (rules: the
`tasks` block of leads/priority.yaml). Pure: no database here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coachapp.assessment._schema import Issues, Node


@dataclass(frozen=True, slots=True)
class TaskRules:
    after_assessment_tiers: frozenset[str] = frozenset()  # assessment-only leads that get a task
    close_on_stage: frozenset[str] = frozenset()  # moving here closes the first-contact task

    def task_after_assessment(self, tier: str | None, status: str) -> bool:
        """A red flag always needs a human; otherwise the tier decides."""
        return status == "clinician_first" or (tier in self.after_assessment_tiers)


def load_task_rules(raw: Any, issues: Issues, tiers: tuple[str, ...], stages: tuple[str, ...]) -> TaskRules:
    node = Node(raw, "tasks", issues, ("after_assessment_tiers", "close_on_stage"))
    after = node.str_list("after_assessment_tiers")
    for tier in set(after) - set(tiers):
        issues.add("tasks", f"unknown tier '{tier}' in after_assessment_tiers")
    close = node.str_list("close_on_stage")
    for stage in set(close) - set(stages):
        issues.add("tasks", f"unknown stage '{stage}' in close_on_stage")
    return TaskRules(frozenset(after), frozenset(close))
