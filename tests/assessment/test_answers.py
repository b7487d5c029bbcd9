"""clean_answers: coercion from form strings and JSON, ranges, branching and junk input."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from coachapp.assessment import Rules, clean_answers
from coachapp.assessment.answers import NEEDS_ANSWER
from coachapp.assessment.samples import random_answers

from .helpers import BASELINE, TODAY

FORM_ABOUT = {
    "age_band": "30-39",
    "sex": "",
    "desk_hours": ">10",
    "strength_sessions_per_week": "0",
}


def test_form_strings_are_coerced(rules: Rules) -> None:
    raw = {"years_running": "2-5", "restarting_after_break": "No", "weekly_km": "30",
           "runs_per_week": "4", "weekly_change": "lower"}
    values, errors = clean_answers(rules.assessment, raw, section_id="running")
    assert errors == {}
    assert values["restarting_after_break"] is False and values["weekly_km"] == 30
    values, _ = clean_answers(rules.assessment, {"sf_screen": "none"}, section_id="safety",
                              existing={"sex": "male"})
    assert values == {"sf_screen": ["none"]}


def test_numbers_from_strings_and_json(rules: Rules) -> None:
    a = rules.assessment
    form = {
        "ktw_left_cm": "8,5",
        "ktw_right_cm": "9",
        "hip_ir_left_deg": "31",
        "balance_left_s": " 20 ",
    }
    values, errors = clean_answers(a, form, section_id="self_tests")
    assert errors == {}
    assert (
        values["ktw_left_cm"] == 8.5
        and values["ktw_right_cm"] == 9
        and isinstance(values["ktw_right_cm"], int)
    )
    assert values["hip_ir_left_deg"] == 31 and values["balance_left_s"] == 20
    values, errors = clean_answers(a, {**BASELINE, "weekly_km": 45.0, "current_pain_nrs": 0})
    assert errors == {} and values["weekly_km"] == 45 and values["current_pain_nrs"] == 0


@pytest.mark.parametrize(
    ("qid", "value", "message"),
    [
        ("ktw_left_cm", "25", "Enter a number from 0 to 20 cm."),
        ("ktw_left_cm", "-1", "Enter a number from 0 to 20 cm."),
        ("ktw_left_cm", "eight", "Enter a number from 0 to 20 cm."),
        ("ktw_left_cm", "nan", "Enter a number from 0 to 20 cm."),
        ("hip_ir_left_deg", "12.5", "Enter a whole number from 0 to 70°."),
        ("heel_raise_left_reps", True, "Enter a whole number from 0 to 100 reps."),
        ("balance_left_s", "61", "Enter a whole number from 0 to 60 s."),
        ("thomas_left", "sideways", "Choose one option."),
        ("thomas_knee_straightens", "maybe", "Choose yes or no."),
        ("beighton_self", ["thumb_left", "toe_left"], "Choose from the listed options."),
    ],
)
def test_range_and_choice_errors(rules: Rules, qid: str, value: Any, message: str) -> None:
    values, errors = clean_answers(rules.assessment, {qid: value}, section_id="self_tests")
    assert errors[qid] == message
    assert qid not in values


def test_slider_steps_and_dates(rules: Rules) -> None:
    a = rules.assessment
    _, errors = clean_answers(a, {**BASELINE, "weekly_km": 42})
    assert errors == {"weekly_km": "Choose a value from 0 to 200 in steps of 5."}
    _, errors = clean_answers(a, {**BASELINE, "current_pain_nrs": "2.5"})
    assert errors == {"current_pain_nrs": "Enter a whole number from 0 to 10."}
    for bad in ("01/03/2027", "2027-02-30", "20270301", "2027-3-1", 20270301):
        _, errors = clean_answers(a, {**BASELINE, "goal_event": "half", "race_date": bad})
        assert errors == {"race_date": "Enter a date as YYYY-MM-DD."}, bad
    values, errors = clean_answers(
        a, {**BASELINE, "goal_event": "half", "race_date": date(2027, 3, 1)}
    )
    assert errors == {} and values["race_date"] == "2027-03-01"


def test_exclusive_option(rules: Rules) -> None:
    raw = {**BASELINE, "sf_screen": ["night_rest_pain", "none"]}
    values, errors = clean_answers(rules.assessment, raw)
    assert errors == {"sf_screen": "‘None of these’ can’t be combined with other answers."}
    assert "sf_screen" not in values


def test_multi_select_order_and_single_string(rules: Rules) -> None:
    values, errors = clean_answers(
        rules.assessment, {**BASELINE, "terrain": ["treadmill", "road", "road"]}
    )
    assert errors == {} and values["terrain"] == ["road", "treadmill"]
    values, errors = clean_answers(rules.assessment, {**BASELINE, "terrain": "track"})
    assert errors == {} and values["terrain"] == ["track"]


def test_hidden_questions_are_dropped_and_never_required(rules: Rules) -> None:
    raw = {**BASELINE, "race_date": "2027-03-01", "first_marathon": True, "sf_periods": "yes"}
    values, errors = clean_answers(rules.assessment, raw)
    assert errors == {}
    assert not {"race_date", "first_marathon", "sf_periods", "injury_areas"} & set(values)


def test_show_if_across_steps_uses_existing(rules: Rules) -> None:
    a = rules.assessment
    raw = {"sf_screen": "none", "sf_periods": "yes"}
    values, _ = clean_answers(a, raw, section_id="safety", existing={"sex": "female"})
    assert values["sf_periods"] == "yes"
    values, _ = clean_answers(a, raw, section_id="safety", existing={"sex": "male"})
    assert "sf_periods" not in values


def test_required_follow_up_when_visible(rules: Rules) -> None:
    values, errors = clean_answers(
        rules.assessment, {**BASELINE, "injury_history": "recent_stopped", "current_pain_nrs": 4}
    )
    assert errors == {
        "injury_areas": NEEDS_ANSWER,
        "current_pain_area": NEEDS_ANSWER,
        "current_pain_weeks": NEEDS_ANSWER,  # safety-relevant: an amber result depends on them
        "pain_behaviour": NEEDS_ANSWER,
    }
    assert values["injury_history"] == "recent_stopped"


def test_required_questions_in_a_step(rules: Rules) -> None:
    values, errors = clean_answers(
        rules.assessment, {**FORM_ABOUT, "age_band": ""}, section_id="about_you"
    )
    assert errors == {"age_band": NEEDS_ANSWER}
    assert "sex" not in values  # optional and left blank: not an answer
    assert values["hm_5pq"] == []  # an unticked checklist on a submitted step is an answer


def test_unknown_ids(rules: Rules) -> None:
    _, errors = clean_answers(rules.assessment, {**BASELINE, "favourite_shoe": "x"})
    assert errors == {"favourite_shoe": "Unknown question id."}
    values, errors = clean_answers(
        rules.assessment,
        {**FORM_ABOUT, "favourite_shoe": "x", "ktw_left_cm": "8"},
        section_id="about_you",
    )
    assert errors == {} and "ktw_left_cm" not in values


def test_json_baseline_round_trips(rules: Rules) -> None:
    values, errors = clean_answers(rules.assessment, BASELINE)
    assert errors == {} and values == BASELINE


def test_random_valid_answers_are_accepted_unchanged(rules: Rules) -> None:
    rng = random.Random(7)
    for _ in range(300):
        raw = random_answers(rules.assessment, rng, TODAY)
        values, errors = clean_answers(rules.assessment, raw)
        assert errors == {} and values == raw


JUNK = [
    None,
    "",
    " ",
    "yes",
    "no",
    "0",
    "-1",
    "1e400",
    "nan",
    "inf",
    3,
    -3,
    2.5,
    1e300,
    True,
    False,
    [],
    [""],
    ["none", "none"],
    [1, 2],
    [[1]],
    {"a": 1},
    {1, 2},
    object(),
    b"bytes",
    "2027-13-45",
    date(2027, 1, 1),
    "x" * 2000,
    ("tue",),
    float("nan"),
]


def test_junk_never_raises(rules: Rules) -> None:
    rng = random.Random(3)
    a = rules.assessment
    for _ in range(200):
        raw = {q.id: rng.choice(JUNK) for q in a.questions if rng.random() < 0.7}
        raw[rng.choice(["zz", "", "__proto__"])] = rng.choice(JUNK)
        for section_id in (None, rng.choice([s.id for s in a.sections])):
            values, errors = clean_answers(
                a, raw, section_id=section_id, existing=rng.choice([None, {}, BASELINE])
            )
            assert isinstance(values, dict) and isinstance(errors, dict)
            assert all(isinstance(m, str) and m for m in errors.values())
            assert not set(values) & set(errors)
    assert clean_answers(a, ["not", "a", "mapping"]) == (
        {},
        {"_form": "Answers must be a mapping of question ids to values."},
    )
    assert clean_answers(a, {}, section_id="nope") == ({}, {"_section": "Unknown section."})


def test_an_unticked_self_test_checklist_means_not_done(rules: Rules) -> None:
    """A runner who skips the Beighton movements has not scored 0/9 (issue 8: no fake measurement)."""
    values, errors = clean_answers(
        rules.assessment, {"beighton_self": [], "ktw_left_cm": "9"}, section_id="self_tests"
    )
    assert errors == {} and "beighton_self" not in values and values["ktw_left_cm"] == 9
    core, _ = clean_answers(rules.assessment, {**FORM_ABOUT, "hm_5pq": []}, section_id="about_you")
    assert core["hm_5pq"] == []  # the core questionnaire, seen and left unticked, is an answer
