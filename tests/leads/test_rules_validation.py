"""Broken copies of rules/leads/*.yaml: each problem names its file and rule, all are collected."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coachapp.assessment import RulesError, load_rules
from coachapp.assessment.rules import FILES
from tests.rules_copy import Edit, broken_rules

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
PRIORITY, ASSIGNMENT = "leads/priority.yaml", "leads/assignment.yaml"


@pytest.fixture
def broken(tmp_path: Path) -> Callable[..., list[str]]:
    """Copy the real rules, edit the parsed lead files, load, and return the errors."""
    base = broken_rules(tmp_path)

    def apply(priority: Edit | None = None, assignment: Edit | None = None) -> list[str]:
        return base({PRIORITY: priority, ASSIGNMENT: assignment})

    apply.root = base.root  # type: ignore[attr-defined]
    return apply


def rule(data: dict[str, Any], ident: str) -> dict[str, Any]:
    entries = [*data["overrides"], *(r for axis in data["scores"].values() for r in axis)]
    return next(item for item in entries if item["id"] == ident)


def has(errors: list[str], *parts: str) -> bool:
    return any(all(p in e for p in parts) for e in errors)


def test_the_lead_files_are_registered_and_versioned(tmp_path: Path) -> None:
    assert PRIORITY in FILES and ASSIGNMENT in FILES
    rules = load_rules(RULES_DIR)
    assert rules.files[PRIORITY] == 2 and rules.files[ASSIGNMENT] == 1
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    path = tmp_path / "rules" / PRIORITY
    path.write_text(path.read_text(encoding="utf-8").replace("points: 40", "points: 45", 1), encoding="utf-8")
    assert load_rules(tmp_path / "rules").version != rules.version


def test_unknown_key(broken) -> None:
    errors = broken(priority=lambda d: rule(d, "fit.runner").update(colour="red"))
    assert has(errors, "leads/priority.yaml: rule 'fit.runner'", "unknown key 'colour'")


def test_unknown_ref(broken) -> None:
    errors = broken(priority=lambda d: rule(d, "fit.in_person_ok").update(when={"ref": "in_austin", "eq": True}))
    assert has(errors, "leads/priority.yaml: rule 'fit.in_person_ok'", "unknown ref 'in_austin'")


def test_bad_option_value(broken) -> None:
    errors = broken(priority=lambda d: rule(d, "urg.start_asap").update(when={"ref": "start_timing", "eq": "now"}))
    assert has(errors, "leads/priority.yaml: rule 'urg.start_asap'", "'now' is not an option of 'start_timing'")


def test_unknown_flag_id(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        rule(d, "urg.load_spike")["when"] = {"ref": "flags", "contains": "LONG_RUN_SPIKE"}

    errors = broken(priority=edit)
    assert has(errors, "rule 'urg.load_spike'", "'LONG_RUN_SPIKE' is not an option of 'flags'")


def test_assessment_options_are_used_for_goal_event(broken) -> None:
    errors = broken(priority=lambda d: rule(d, "fit.distance_or_trail")["when"].update(**{"in": ["marathon", "10k"]}))
    assert has(errors, "rule 'fit.distance_or_trail'", "'10k' is not an option of 'goal_event'")


def test_unknown_placeholder_and_points_type(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        rule(d, "urg.race_8_16w")["reason"] = "Race in {weeks} weeks."
        rule(d, "eng.replied")["points"] = "lots"

    errors = broken(priority=edit)
    assert has(errors, "rule 'urg.race_8_16w'", "unknown placeholder '{weeks}'")
    assert has(errors, "rule 'eng.replied'", "'points' must be a number")


def test_duplicate_rule_id_across_axes(broken) -> None:
    errors = broken(priority=lambda d: rule(d, "eng.replied").update(id="fit.runner"))
    assert has(errors, "leads/priority.yaml: rule 'fit.runner'", "duplicate id")


def test_overlapping_fit_bands(broken) -> None:
    errors = broken(priority=lambda d: d["tiering"]["fit_bands"]["B"].update(lt=65))
    assert has(errors, "leads/priority.yaml: fit_bands", "bands 'B' and 'A' overlap")


def test_gapped_intent_bands(broken) -> None:
    errors = broken(priority=lambda d: d["tiering"]["intent_bands"]["2"].update(gte=35))
    assert has(errors, "leads/priority.yaml: intent_bands", "gap between 30 and 35")


def test_bands_must_cover_0_to_100(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["tiering"]["fit_bands"]["C"] = {"gte": 5, "lt": 30}
        d["tiering"]["fit_bands"]["A"] = {"gte": 60, "lt": 100}

    errors = broken(priority=edit)
    assert has(errors, "fit_bands", "below 5 uncovered")
    assert has(errors, "fit_bands", "from 100 uncovered")


def test_unquoted_or_unknown_band_names(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        bands = d["tiering"]["intent_bands"]
        bands[1] = bands.pop("1")
        d["tiering"]["fit_bands"]["D"] = {"lt": 0}

    errors = broken(priority=edit)
    assert has(errors, "intent_bands", "unknown band 1", 'quote digits')
    assert has(errors, "intent_bands", "missing band '1'")
    assert has(errors, "fit_bands", "unknown band 'D'")


def test_every_tier_needs_an_action_and_sla(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["tiers"]["B3"]
        del d["tiers"]["C2"]["sla"]
        d["tiers"]["A1"]["sla"] = {"working_hours": 0}
        d["tiers"]["A2"]["sla"] = "2h"
        d["tiers"]["D1"] = {"action": "x", "sla": "none"}

    errors = broken(priority=edit)
    assert has(errors, "leads/priority.yaml: tier 'B3'", "missing: every tier needs an 'action' and an 'sla'")
    assert has(errors, "tier 'C2'", "missing required key 'sla'")
    assert has(errors, "tier 'A1'", "'sla' must be none, {working_hours: n} or {working_days: n} with n > 0")
    assert has(errors, "tier 'A2'", "'sla' must be")
    assert has(errors, "tier 'D1'", "unknown tier")


def test_override_shape(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        del rule(d, "override.safety_red")["sla"]
        rule(d, "override.client")["status"] = "won"
        rule(d, "override.lost")["sla"] = {"working_days": 1}
        rule(d, "override.safety_amber")["when"] = {"ref": "safety_level", "eq": "orange"}

    errors = broken(priority=edit)
    assert has(errors, "leads/priority.yaml: override 'override.safety_red'", "needs either 'action' + 'sla'")
    assert has(errors, "override 'override.client'", "'status' must be one of")
    assert has(errors, "override 'override.lost'", "'closed' override must replace the action with 'sla: none'")
    assert has(errors, "override 'override.safety_amber'", "'orange' is not an option of 'safety_level'")


def test_labels_only_for_known_facts_and_options(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["labels"]["stage"]["won"] = "won"
        d["labels"]["goal_event"] = {"marathon": "Marathon"}

    errors = broken(priority=edit)
    assert has(errors, "leads/priority.yaml: labels 'stage'", "unknown key 'won'")
    assert has(errors, "labels 'goal_event'", "only dealing_with, start_timing, stage, safety_level")


def test_assignment_services_and_delivery(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["services"]["kinstretch"]
        d["services"]["yoga"] = {"label": "yoga", "covered_by": "yoga"}
        d["services"]["personal_training"]["covered_by"] = "strength"
        d["services"]["online_coaching"]["needs"] = "video"
        d["delivery"]["either"]["needs"] = "both"
        d["strategy"] = "least_loaded"

    errors = broken(assignment=edit)
    assert has(errors, "leads/assignment.yaml: service 'kinstretch'", "missing")
    assert has(errors, "leads/assignment.yaml: service 'yoga'", "unknown service")
    assert has(errors, "service 'personal_training'", "'covered_by' must be 'any' or a service id")
    assert has(errors, "service 'online_coaching'", "'needs' must be one of")
    assert has(errors, "delivery 'either'", "'needs' must be one of")
    assert has(errors, "leads/assignment.yaml", "'strategy' must be one of round_robin")


def test_assignment_reasons_and_working_hours(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["reasons"]["only_one"] = "{name} is the only coach."
        del d["reasons"]["no_owner"]
        d["working_hours"]["week"]["mon"] = ["09:00-12:00", "11:00-17:00"]

    errors = broken(assignment=edit)
    assert has(errors, "leads/assignment.yaml: reason 'only_one'", "unknown placeholder '{name}'")
    assert has(errors, "leads/assignment.yaml: reasons", "missing required key 'no_owner'")
    assert has(errors, "leads/assignment.yaml: working_hours", "mon: windows 09:00-12:00 and 11:00-17:00 overlap")


def test_bad_time_zone(broken) -> None:
    errors = broken(assignment=lambda d: d["working_hours"].update(time_zone="Austin/Texas"))
    assert has(errors, "leads/assignment.yaml: working_hours", "unknown time zone 'Austin/Texas'")


def test_problems_in_both_files_are_collected(broken) -> None:
    errors = broken(
        priority=lambda d: rule(d, "fit.runner").update(colour="red"),
        assignment=lambda d: d.update(fallback="random"),
    )
    assert has(errors, "leads/priority.yaml: rule 'fit.runner'")
    assert has(errors, "leads/assignment.yaml", "'fallback' must be one of owner")


def test_missing_lead_file(broken) -> None:
    (broken.root / "leads" / "assignment.yaml").unlink()
    with pytest.raises(RulesError) as info:
        load_rules(broken.root)
    assert info.value.errors == ["leads/assignment.yaml: missing rule file"]
