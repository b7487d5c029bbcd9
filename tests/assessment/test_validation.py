"""Broken rule folders: every problem is reported with its file and rule id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coachapp.assessment import RulesError, load_rules
from tests.rules_copy import broken_rules


@pytest.fixture
def broken(tmp_path: Path) -> Callable[..., list[str]]:
    """Copy the real rules, apply edits to parsed files (``scoring__regions=edit``), load, return the errors."""
    base = broken_rules(tmp_path)

    def apply(**edits: Callable[[Any], None]) -> list[str]:
        return base({rel.replace("__", "/") + ".yaml": edit for rel, edit in edits.items()})

    apply.root = base.root  # type: ignore[attr-defined]
    return apply


def rule(data: dict[str, Any], key: str, ident: str) -> dict[str, Any]:
    return next(item for item in data[key] if item.get("id") == ident)


def has(errors: list[str], *parts: str) -> bool:
    return any(all(p in e for p in parts) for e in errors)


def test_unknown_key(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "ankle.ktw_band").update(colour="red")
    )
    assert has(errors, "scoring/regions.yaml: rule 'ankle.ktw_band'", "unknown key 'colour'")


def test_unknown_key_in_a_band(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "trot.band")["bands"][0].update(pts=3)
    )
    assert has(errors, "scoring/regions.yaml: rule 'trot.band'", "unknown key 'pts'")


def test_broken_condition_reference(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        rule(d, "flags", "NO_STRENGTH_WORK")["when"] = {"ref": "strength_per_week", "eq": "0"}

    errors = broken(scoring__risk_flags=edit)
    assert has(
        errors,
        "scoring/risk_flags.yaml: flag 'NO_STRENGTH_WORK'",
        "unknown ref 'strength_per_week'",
    )


def test_bad_option_value_in_condition(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        rule(d, "flags", "NO_STRENGTH_WORK")["when"] = {
            "ref": "strength_sessions_per_week",
            "eq": "3+",
        }

    errors = broken(scoring__risk_flags=edit)
    assert has(
        errors, "flag 'NO_STRENGTH_WORK'", "'3+' is not an option of 'strength_sessions_per_week'"
    )


def test_numeric_operator_on_a_choice(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        rule(d, "rules", "AF_MINOR")["when"] = {"ref": "age_band", "lt": 18}

    errors = broken(safety__red_flags=edit)
    assert has(errors, "safety/red_flags.yaml: rule 'AF_MINOR'", "'lt' needs a numeric ref")


def test_overlapping_band(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "ankle.ktw_band")["bands"][1].update(lt=11)
    )
    assert has(errors, "scoring/regions.yaml: rule 'ankle.ktw_band'", "bands overlap at 10")


def test_gapped_band(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "ankle.ktw_band")["bands"][0].update(gte=10.5)
    )
    assert has(errors, "rule 'ankle.ktw_band'", "gap between 10 and 10.5")


def test_categorical_band_with_unknown_option(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "trot.band")["bands"][0].update(eq="way_past")
    )
    assert has(errors, "rule 'trot.band'", "'way_past'")


def test_missing_exercise(broken) -> None:
    errors = broken(
        plans__selection=lambda d: d["region_blocks"]["ankle_dorsiflexion"].update(
            daily="ankle_carz"
        )
    )
    assert has(
        errors,
        "plans/selection.yaml: region_blocks 'ankle_dorsiflexion'",
        "unknown exercise 'ankle_carz'",
    )


def test_exercise_removed_from_library(broken) -> None:
    errors = broken(
        exercises__library=lambda d: d["exercises"].remove(rule(d, "exercises", "copenhagen_plank"))
    )
    assert has(errors, "plans/selection.yaml", "unknown exercise 'copenhagen_plank'")


def test_duplicate_id(broken) -> None:
    errors = broken(
        scoring__risk_flags=lambda d: d["flags"].append(dict(rule(d, "flags", "TECHNICAL_TRAIL")))
    )
    assert has(errors, "scoring/risk_flags.yaml: flag 'TECHNICAL_TRAIL'", "duplicate id")


def test_duplicate_question_id(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["sections"][0]["questions"].append({"id": "sex", "type": "boolean", "text": "Again?"})

    errors = broken(assessment__runner_assessment=edit)
    assert has(errors, "assessment/runner_assessment.yaml: question 'sex'", "duplicate id")


def test_unknown_source_id(broken) -> None:
    errors = broken(
        scoring__stability=lambda d: rule(d, "rules", "stab.5pq").update(sources=["S99"])
    )
    assert has(errors, "scoring/stability.yaml: rule 'stab.5pq'", "unknown source id 'S99'")


def test_type_error(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "ankle.repeat_sprains").update(points="ten")
    )
    assert has(errors, "rule 'ankle.repeat_sprains'", "'points' must be a number")


def test_missing_version(broken) -> None:
    errors = broken(plans__schedules=lambda d: d.pop("version"))
    assert has(errors, "plans/schedules.yaml", "missing required key 'version'")


def test_unknown_test_and_question_type(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        section = d["sections"][-1]["questions"]
        section[0]["test"] = "knee_to_floor"
        section[1]["type"] = "image_choice"

    errors = broken(assessment__runner_assessment=edit)
    assert has(errors, "question 'ktw_left_cm'", "unknown test 'knee_to_floor'")
    assert has(errors, "question 'ktw_right_cm'", "'type' must be one of")


def test_show_if_may_only_use_earlier_questions(broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["sections"][0]["questions"][0]["show_if"] = {"ref": "goal_event", "eq": "none"}

    errors = broken(assessment__runner_assessment=edit)
    assert has(errors, "question 'age_band'", "unknown ref 'goal_event'")


def test_unknown_area_and_flag(broken) -> None:
    errors = broken(
        safety__red_flags=lambda d: rule(d, "rules", "AF_PAIN_ON_TEST").update(
            restrict_areas=["elbow"]
        ),
        plans__selection=lambda d: d["flag_additions"][0].update(flag="NOT_A_FLAG"),
    )
    assert has(errors, "safety/red_flags.yaml: rule 'AF_PAIN_ON_TEST'", "unknown area 'elbow'")
    assert has(errors, "plans/selection.yaml", "unknown flag 'NOT_A_FLAG'")


def test_unknown_template_placeholder(broken) -> None:
    errors = broken(
        scoring__risk_flags=lambda d: rule(d, "flags", "TECHNICAL_TRAIL").update(reason="{sleep}")
    )
    assert has(errors, "flag 'TECHNICAL_TRAIL'", "unknown placeholder '{sleep}'")


def test_all_problems_are_collected(broken) -> None:
    errors = broken(
        scoring__regions=lambda d: rule(d, "rules", "ankle.ktw_band").update(colour="red"),
        exercises__library=lambda d: rule(d, "exercises", "a_skip").update(kind="dance"),
        derive__derived_values=lambda d: rule(d, "derived", "ktw_min_cm").update(op="median"),
    )
    assert has(errors, "scoring/regions.yaml")
    assert has(errors, "exercises/library.yaml: exercise 'a_skip'", "'kind' must be one of")
    assert has(errors, "derive/derived_values.yaml: derived 'ktw_min_cm'", "'op' must be one of")


def test_duplicate_yaml_key_and_unknown_file(broken) -> None:
    root = broken.root
    path = root / "scoring" / "stability.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "label: again\n", encoding="utf-8")
    (root / "scoring" / "extra.yaml").write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(root)
    assert has(info.value.errors, "scoring/stability.yaml", "duplicate key 'label'")
    assert has(info.value.errors, "scoring/extra.yaml", "unknown rule file")


def test_missing_file(broken) -> None:
    (broken.root / "plans" / "schedules.yaml").unlink()
    with pytest.raises(RulesError) as info:
        load_rules(broken.root)
    assert info.value.errors == ["plans/schedules.yaml: missing rule file"]
