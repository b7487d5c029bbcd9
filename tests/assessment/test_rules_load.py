"""The real rules folder loads, exposes the documented API and is versioned by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coachapp.assessment import Rules, load_rules
from coachapp.assessment.model import QUESTION_TYPES
from coachapp.assessment.rules import FILES

from .helpers import RULES_DIR


def test_every_rule_file_declares_a_version(rules: Rules) -> None:
    assert set(rules.files) == set(FILES)
    assert all(v is not None for v in rules.files.values())


def test_version_is_a_short_sha256(rules: Rules) -> None:
    assert rules.version.startswith("sha256:")
    assert len(rules.version) == len("sha256:") + 16
    int(rules.version.split(":")[1], 16)


def test_version_is_stable_for_the_same_content(tmp_path: Path, rules: Rules) -> None:
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    path = tmp_path / "rules" / "scoring" / "regions.yaml"
    path.write_text(
        "# a new comment\n" + path.read_text(encoding="utf-8") + "\n\n", encoding="utf-8"
    )
    assert load_rules(tmp_path / "rules").version == rules.version


@pytest.mark.parametrize("rel", FILES)
def test_version_changes_when_any_rule_file_changes(tmp_path: Path, rules: Rules, rel: str) -> None:
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    path = tmp_path / "rules" / rel
    text = path.read_text(encoding="utf-8")
    version_line = next(line for line in text.splitlines() if line.startswith("version:"))
    path.write_text(text.replace(version_line, "version: 99", 1), encoding="utf-8")
    assert load_rules(tmp_path / "rules").version != rules.version


def test_assessment_shape(rules: Rules) -> None:
    a = rules.assessment
    assert a.id == "runner_assessment"
    assert [s.id for s in a.sections] == [
        "about_you",
        "safety",
        "running",
        "goals",
        "injuries",
        "self_tests",
    ]
    assert a.sections[-1].optional and not any(s.optional for s in a.sections[:-1])
    assert a.question("ktw_left_cm").unit == "cm"
    assert a.question("hip_ir_left_deg").unit == "°"
    assert a.section("safety").questions[0].id == "sf_screen"  # one screen, "None of these" first
    assert len(a.questions) == sum(len(s.questions) for s in a.sections)
    assert {q.type for q in a.questions} <= set(QUESTION_TYPES)


def test_core_takes_about_two_minutes(rules: Rules) -> None:
    budget = rules.assessment.budget
    assert rules.assessment.core_taps() <= budget.max_core_taps == 35
    assert rules.assessment.core_seconds() <= budget.max_core_seconds == 120


def test_left_and_right_share_a_screen(rules: Rules) -> None:
    a = rules.assessment
    assert [q.id for q in a.screen("knee_to_wall").questions] == ["ktw_left_cm", "ktw_right_cm"]
    assert [q.id for q in a.screen("hip_flexor_test").questions] == [
        "thomas_left", "thomas_right", "thomas_knee_straightens"]
    core = [s for s in a.screens if not s.section.optional]
    assert all(len(s.questions) == 1 for s in core)  # one question per screen in the core
    assert a.screen("age_band").auto_advance and not a.screen("sf_screen").auto_advance


def test_show_if_refs_and_visibility(rules: Rules) -> None:
    q = rules.assessment.question("race_date")
    assert q.show_if_refs == ("goal_event",)
    assert q.show_if_spec == {"ref": "goal_event", "ne": "none"}
    assert q.visible({"goal_event": "marathon"})
    assert not q.visible({"goal_event": "none"})
    assert not q.visible({})
    periods = rules.assessment.question("sf_periods")
    assert periods.visible({"sex": "female"}) and not periods.visible({"sex": "male"})


def test_exclusive_option_and_checklist_items(rules: Rules) -> None:
    symptoms = rules.assessment.question("sf_screen")
    assert [o.value for o in symptoms.options if o.exclusive] == ["none"]
    assert len(rules.assessment.question("hm_5pq").items) == 5
    assert len(rules.assessment.question("beighton_self").items) == 9


def test_every_self_test_question_has_instructions(rules: Rules) -> None:
    for q in rules.assessment.section("self_tests").questions:
        assert q.test is not None, q.id
        assert q.test.instructions and q.test.minutes > 0 and q.test.safety_note
    assert rules.assessment.question("ktw_left_cm").test.equipment == "A wall and a tape measure"


def test_sources_cover_every_cited_id(rules: Rules) -> None:
    cited = {s for f in rules.flags for s in f.sources}
    cited |= {s for r in rules.regions.rules for s in r.sources}
    cited |= {s for e in rules.exercises.values() for s in e.sources}
    assert cited <= set(rules.sources)
    assert rules.sources["R7"].links


def test_selection_references_real_exercises(rules: Rules) -> None:
    sel = rules.selection
    used = set(sel.base_strength) | set(sel.base_drills) | set(sel.stability_add)
    used |= {e for slots in sel.region_blocks.values() for e in slots.values() if e}
    assert used <= set(rules.exercises)
    assert len(rules.exercises) >= 30
