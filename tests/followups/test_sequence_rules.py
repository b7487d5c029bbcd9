"""Broken copies of rules/sequences.yaml: every problem names the file and the sequence/step."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coachapp.assessment import load_rules
from coachapp.assessment.rules import FILES
from tests.rules_copy import broken_rules

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
FILE = "sequences.yaml"

Broken = Callable[[Callable[[dict[str, Any]], None]], list[str]]


@pytest.fixture
def broken(tmp_path: Path) -> Broken:
    """Copy the real rules, edit the parsed sequences file, load, and return the errors."""
    base = broken_rules(tmp_path)
    return lambda edit: base({FILE: edit})


def seq(data: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(s for s in data["sequences"] if s["id"] == ident)


def step(data: dict[str, Any], seq_id: str, step_id: str) -> dict[str, Any]:
    return next(s for s in seq(data, seq_id)["steps"] if s["id"] == step_id)


def has(errors: list[str], *parts: str) -> bool:
    return any(all(p in e for p in parts) for e in errors)


NURTURE = "sequences.yaml: sequence 'assessment_nurture'"
DRILL = f"{NURTURE} step 'drill_top_priority'"


def test_the_file_is_registered_versioned_and_exposed(tmp_path: Path) -> None:
    assert FILE in FILES
    rules = load_rules(RULES_DIR)
    assert rules.files[FILE] == 1
    assert [s.id for s in rules.sequences.sequences] == ["assessment_nurture", "strategy_requested", "no_show",
                                                         "red_flag"]
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    path = tmp_path / "rules" / FILE
    path.write_text(path.read_text(encoding="utf-8").replace("{days: 3}", "{days: 4}", 1), encoding="utf-8")
    changed = load_rules(tmp_path / "rules")
    assert changed.version != rules.version
    assert changed.sequences.sequences[0].steps[0].delay.days == 4


def test_unknown_keys_at_every_level(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["colour"] = "red"
        seq(d, "assessment_nurture")["priority"] = 1
        step(d, "assessment_nurture", "drill_top_priority")["subject"] = "Hi"
        d["stop_rules"][0]["level"] = "hard"

    errors = broken(edit)
    assert has(errors, "sequences.yaml: unknown key 'colour'")
    assert has(errors, NURTURE, "unknown key 'priority'")
    assert has(errors, DRILL, "unknown key 'subject'")
    assert has(errors, "sequences.yaml: stop rule 'erased'", "unknown key 'level'")


def test_unknown_stop_rule_id(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "no_show")["stop"].append("moved_away"))
    assert has(errors, "sequences.yaml: sequence 'no_show'", "unknown stop rule 'moved_away'")


def test_unknown_trigger(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "no_show").update(trigger="stage_changed"))
    assert has(errors, "sequences.yaml: sequence 'no_show'", "'trigger' must be one of", "got 'stage_changed'")


def test_duplicate_step_and_sequence_ids(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        step(d, "assessment_nurture", "case_story")["id"] = "second_priority"
        d["sequences"].append({**seq(d, "no_show")})

    errors = broken(edit)
    assert has(errors, f"{NURTURE} step 'second_priority': duplicate id")
    assert has(errors, "sequences.yaml: sequence 'no_show': duplicate id")


@pytest.mark.parametrize(
    "delay", [{"days": -1}, {"fortnights": 1}, "3 days", {}, {"days": 1.5}, {"days": True}, None]
)
def test_bad_delay(broken: Broken, delay: Any) -> None:
    errors = broken(lambda d: step(d, "assessment_nurture", "drill_top_priority").update(delay=delay))
    assert has(errors, DRILL, "'delay' must be like {days: 3}")


def test_delays_must_not_go_back_in_time(broken: Broken) -> None:
    errors = broken(lambda d: step(d, "assessment_nurture", "strategy_invite").update(delay={"days": 2}))
    assert has(errors, f"{NURTURE} step 'strategy_invite'", "shorter than the previous step 'case_story'")


def test_min_gap_must_be_positive(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "assessment_nurture").update(min_gap={"hours": 0}))
    assert has(errors, NURTURE, "'min_gap' must be more than 0")


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"days": [], "start": "08:00", "end": "20:00"}, "days must list one or more"),
        ({"days": ["mon", "funday"], "start": "08:00", "end": "20:00"}, "days must list one or more"),
        ({"days": ["mon"], "start": "20:00", "end": "08:00"}, "must start before it ends"),
        ({"days": ["mon"], "start": "8am", "end": "20:00"}, "must look like"),
        ({"days": ["mon"], "start": 480, "end": "20:00"}, "must be quoted times"),
        ({"days": ["mon"], "start": "08:00"}, "missing required key 'end'"),
    ],
)
def test_bad_named_window(broken: Broken, window: dict[str, Any], message: str) -> None:
    errors = broken(lambda d: d["windows"].update(default=window))
    assert has(errors, "sequences.yaml: window 'default'", message)


def test_bad_inline_window_names_the_sequence(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "no_show").update(window={"days": [], "start": "09:00", "end": "17:00"}))
    assert has(errors, "sequences.yaml: sequence 'no_show' window", "days must list one or more")


def test_unknown_named_window_and_missing_default(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["windows"]["weekdays"] = d["windows"].pop("default")
        seq(d, "no_show")["window"] = "evenings"
        del seq(d, "assessment_nurture")["window"]  # falls back to 'default', which is gone

    errors = broken(edit)
    assert has(errors, "sequences.yaml: windows: missing the 'default' window")
    assert has(errors, "sequences.yaml: sequence 'no_show'", "unknown window 'evenings'")
    assert has(errors, NURTURE, "unknown window 'default'")


def test_coach_reminders_use_coach_hours_and_are_not_marketing(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "strategy_requested").update(window="default", marketing=True))
    where = "sequences.yaml: sequence 'strategy_requested'"
    assert has(errors, where, "use the coach's working hours")
    assert has(errors, where, "cannot be marketing")
    assert has(errors, where, "must list stop rule 'unsubscribed_sales'")


def test_prospects_cannot_use_coach_hours(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "no_show").update(window="coach_hours"))
    assert has(errors, "sequences.yaml: sequence 'no_show'", "unknown window 'coach_hours'")


def test_marketing_sequences_must_stop_on_unsubscribes_and_missing_consent(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        seq(d, "assessment_nurture")["stop"].remove("no_consent")
        seq(d, "assessment_nurture")["stop"].remove("unsubscribed")
        seq(d, "red_flag")["stop"].remove("erased")

    errors = broken(edit)
    assert has(errors, NURTURE, "must list stop rule 'no_consent'")
    assert has(errors, NURTURE, "must list stop rule 'unsubscribed'")
    assert has(errors, "sequences.yaml: sequence 'red_flag'", "must list stop rule 'erased'")


def test_templates_must_be_registered_and_used(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        step(d, "assessment_nurture", "drill_top_priority")["template"] = "nurture_drill_v2"
        d["templates"]["Bad Name"] = "x"

    errors = broken(edit)
    assert has(errors, DRILL, "unknown template 'nurture_drill_v2'")
    assert has(errors, "sequences.yaml: template 'nurture_drill_top_priority': not used by any sequence")
    assert has(errors, "sequences.yaml: template 'Bad Name'", "lower_case name")


def test_stop_rule_conditions_and_step_conditions_are_checked(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        step(d, "assessment_nurture", "drill_top_priority")["when"] = {"ref": "priorities", "gte": 1}
        next(r for r in d["stop_rules"] if r["id"] == "booked")["when"] = {"ref": "stage", "eq": "booked"}

    errors = broken(edit)
    assert has(errors, DRILL, "unknown ref 'priorities'")
    assert has(errors, "sequences.yaml: stop rule 'booked'", "'booked' is not an option of 'stage'")


def test_stop_rules_are_unique_used_and_the_required_ones_exist(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["stop_rules"] = [r for r in d["stop_rules"] if r["id"] != "no_consent"]
        d["stop_rules"].append({**d["stop_rules"][0]})
        d["stop_rules"].append({"id": "paused", "when": {"ref": "replied", "eq": True}, "reason": "Paused."})

    errors = broken(edit)
    assert has(errors, "sequences.yaml: stop rule 'no_consent': missing")
    assert has(errors, "sequences.yaml: stop rule 'erased': duplicate id")
    assert has(errors, "sequences.yaml: stop rule 'paused': not used by any sequence")


def test_ids_must_be_lower_case_names(broken: Broken) -> None:
    errors = broken(lambda d: step(d, "no_show", "rebook").update(id="Rebook Now"))
    assert has(errors, "sequences.yaml: sequence 'no_show' step 'Rebook Now'", "lower_case_with_underscores")


def test_a_sequence_needs_steps(broken: Broken) -> None:
    errors = broken(lambda d: seq(d, "no_show").update(steps=[]))
    assert has(errors, "sequences.yaml: sequence 'no_show': needs at least one step")


def test_every_problem_is_collected_at_once(broken: Broken) -> None:
    def edit(d: dict[str, Any]) -> None:
        seq(d, "no_show")["trigger"] = "nope"
        step(d, "red_flag", "see_clinician")["delay"] = {"days": -1}
        seq(d, "assessment_nurture")["audience"] = "everyone"

    errors = broken(edit)
    assert len(errors) >= 3
    assert has(errors, "sequence 'no_show'", "'trigger'")
    assert has(errors, "sequence 'red_flag' step 'see_clinician'", "'delay'")
    assert has(errors, NURTURE, "'audience' must be one of")


def test_every_template_a_step_names_has_its_three_files() -> None:
    templates = RULES_DIR.parent / "templates" / "email"
    named = {s.template for seq_ in load_rules(RULES_DIR).sequences.sequences for s in seq_.steps}
    assert named == set(load_rules(RULES_DIR).sequences.templates)
    missing = [f"{t}.{ext}" for t in sorted(named) for ext in ("subject.txt", "txt", "html")
               if not (templates / f"{t}.{ext}").is_file()]
    assert missing == []
