"""`flask rules check` enforces what issue 8 asks of the rules: every number is sourced or
marked as the coach's judgement, normal bands score nothing, and every amber rule declares
gates that can really change the plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.rules_copy import broken_rules


@pytest.fixture
def broken(tmp_path: Path) -> Callable[..., list[str]]:
    base = broken_rules(tmp_path)
    return lambda **edits: base({rel.replace("__", "/") + ".yaml": e for rel, e in edits.items()})


def by_id(items: list[dict[str, Any]], ident: str) -> dict[str, Any]:
    return next(item for item in items if item.get("id") == ident)


def has(errors: list[str], *parts: str) -> bool:
    return any(all(p in e for p in parts) for e in errors)


NEEDS_BASIS = "a numeric threshold needs 'sources' or 'coach_judgement: <one-line reason>'"


def test_a_threshold_without_a_source_or_judgement_fails(broken) -> None:
    def edit(d):
        by_id(d["rules"], "trot.desk_hours").pop("coach_judgement")

    assert has(broken(scoring__regions=edit), "rule 'trot.desk_hours'", NEEDS_BASIS)


@pytest.mark.parametrize(
    ("file", "where", "edit"),
    [
        ("scoring__risk_flags", "flag 'MARATHON_LOW_VOLUME'",
         lambda d: by_id(d["flags"], "MARATHON_LOW_VOLUME").update(sources=[])),
        ("scoring__stability", "", lambda d: d.pop("coach_judgement")),
        ("scoring__regions", "aggregation", lambda d: d["aggregation"].pop("coach_judgement")),
        ("derive__derived_values", "derived 'spike_cap_km'",
         lambda d: by_id(d["derived"], "spike_cap_km").pop("sources")),
        ("plans__schedules", "phase 'taper'", lambda d: by_id(d["phases"], "taper").pop("coach_judgement")),
        ("leads__priority", "", lambda d: d.pop("coach_judgement")),
    ],
)
def test_every_rule_file_checks_its_numbers(broken, file: str, where: str, edit) -> None:
    errors = broken(**{file: edit})
    assert has(errors, file.replace("__", "/") + ".yaml", where, NEEDS_BASIS), errors


def test_coach_judgement_is_a_one_line_reason(broken) -> None:
    def edit(d):
        by_id(d["rules"], "trot.desk_hours")["coach_judgement"] = True

    assert has(broken(scoring__regions=edit), "rule 'trot.desk_hours'", "must be a one-line reason")


def test_a_normal_band_cannot_score(broken) -> None:
    def edit(d):
        by_id(d["rules"], "ankle.ktw_band")["bands"][0]["points"] = 20

    assert has(broken(scoring__regions=edit), "rule 'ankle.ktw_band'", "normal band must score 0")


def test_a_self_test_band_states_its_status(broken) -> None:
    def edit(d):
        by_id(d["rules"], "hip_ir.seated_band")["bands"][2].pop("status")

    assert has(broken(scoring__regions=edit), "rule 'hip_ir.seated_band'", "needs 'status'")


def test_an_amber_rule_must_declare_its_gates(broken) -> None:
    def edit(d):
        by_id(d["rules"], "AF_REDS").pop("gates")

    assert has(broken(safety__red_flags=edit), "rule 'AF_REDS'", "must say what it gates")


def test_a_gate_that_can_remove_nothing_fails(broken) -> None:
    def no_fast_items(d):
        for ex in d["exercises"]:
            ex.pop("intensity", None)

    errors = broken(exercises__library=no_fast_items)
    assert has(errors, "rule 'RF_HEART_MEDS'", "gate 'no_high_intensity' can remove nothing")


def test_area_gates_go_with_restricted_areas(broken) -> None:
    def edit(d):
        by_id(d["rules"], "AF_PAIN_ON_TEST")["gates"] = ["no_high_intensity"]

    assert has(broken(safety__red_flags=edit), "rule 'AF_PAIN_ON_TEST'", "'avoid_painful_areas' goes with")


def test_red_rules_have_no_gates(broken) -> None:
    def edit(d):
        by_id(d["rules"], "RF_CARDIAC")["gates"] = ["no_high_intensity"]

    assert has(broken(safety__red_flags=edit), "rule 'RF_CARDIAC'", "'gates' are for amber rules")


def test_stability_first_never_swaps_in_a_passive_hold(broken) -> None:
    def edit(d):
        d["stability_first"]["replace"]["hip_9090_ir_pails_rails"] = "prone_hip_ir_pails_rails"

    assert has(broken(plans__selection=edit), "stability_first", "a passive end-range hold")


def test_pails_rails_must_be_marked_passive(broken) -> None:
    def edit(d):
        by_id(d["exercises"], "hip_9090_er_pails_rails").pop("passive_end_range")

    assert has(broken(exercises__library=edit), "exercise 'hip_9090_er_pails_rails'", "passive_end_range")


def test_rules_check_fails_when_the_core_goes_over_its_time_budget(broken) -> None:
    def tight(d):
        d["budget"]["max_core_taps"] = 20
        d["budget"]["max_core_seconds"] = 60

    errors = broken(assessment__runner_assessment=tight)
    assert has(errors, "assessment/runner_assessment.yaml: budget", "over max_core_taps (20)")
    assert has(errors, "assessment/runner_assessment.yaml: budget", "over max_core_seconds (60 s)")


def test_every_question_type_has_a_time_cost(broken) -> None:
    errors = broken(assessment__runner_assessment=lambda d: d["budget"]["per_type"].pop("date"))
    assert has(errors, "budget per_type 'date'", "expected a mapping")


def test_lead_task_rules_name_real_tiers_and_stages(broken) -> None:
    def edit(d):
        d["tasks"] = {"after_assessment_tiers": ["A1", "Z9"], "close_on_stage": ["contacted", "won"]}

    errors = broken(leads__priority=edit)
    assert has(errors, "leads/priority.yaml: tasks", "unknown tier 'Z9'")
    assert has(errors, "leads/priority.yaml: tasks", "unknown stage 'won'")


def test_a_call_outcome_either_moves_the_lead_or_retries(broken) -> None:
    def edit(d):
        d["tasks"]["call_outcomes"]["voicemail"] = {"stage": "contacted", "retry_working_hours": 4}
        d["tasks"]["call_outcomes"]["busy"] = {"retry_working_hours": 1}

    errors = broken(leads__priority=edit)
    assert has(errors, "tasks call_outcomes 'voicemail'", "either 'stage' or 'retry_working_hours'")
    assert has(errors, "tasks call_outcomes", "unknown outcome 'busy'")
