"""Issue 8, point by point: outcomes a sports physiotherapist would sign.

Each test names the research section (shared/domain/runner-assessment-research.md) it is built from.
"""

from __future__ import annotations

import pytest

from coachapp.assessment import Rules

from .helpers import fired_ids, plan_ids, region, run

FIVE_PQ = ["palms_floor", "thumb_forearm"]
BEIGHTON_4 = ["thumb_left", "thumb_right", "elbow_left", "palms_floor"]


def _passive(rules: Rules) -> set[str]:
    return {e.id for e in rules.exercises.values() if e.passive_end_range}


# 1. Hypermobility (§1.9: 5PQ ≥ 2 = positive; Beighton ≥ 5 to 50 y, ≥ 4 over 50, one lower with
#    a positive 5PQ; E9: no pushing into end range)


def test_a_positive_5pq_alone_puts_a_runner_in_stability_first(rules: Rules) -> None:
    result = run(rules, hm_5pq=FIVE_PQ)
    assert result.stability["mode"] == "stability_first" and "beighton_self" not in result.derived
    assert "HYPERMOBILE" in fired_ids(result.flags)


@pytest.mark.parametrize(
    ("age", "five_pq", "mode", "cutoff"),
    [
        ("40-49", [], "standard", 5),  # 4/9 under 50 is below the cut-off of 5
        ("50-59", [], "stability_first", 4),  # over 50 the cut-off is 4
        ("<18", [], "standard", 5),  # teenagers: the post-puberty cut-off
        ("40-49", ["palms_floor", "child_contort"], "stability_first", 4),  # 5PQ lowers it by one
    ],
)
def test_the_beighton_cut_off_is_age_adjusted(rules, age, five_pq, mode, cutoff) -> None:
    result = run(rules, age_band=age, hm_5pq=five_pq, beighton_self=BEIGHTON_4)
    assert result.derived["beighton_cutoff"] == cutoff
    assert result.stability["mode"] == mode


def test_stability_first_has_no_passive_end_range_hold_for_any_region(rules: Rules) -> None:
    everything_stiff = dict(
        ktw_left_cm=5, ktw_right_cm=6, hip_ir_left_deg=22, hip_ir_right_deg=24,
        thomas_left="well_above", thomas_right="well_above", trot_left="well_short",
        trot_right="well_short", injury_history="recent_stopped",
        injury_areas=["hamstring", "hip_groin", "ankle_sprain"],
    )
    for five_pq in (FIVE_PQ, ["palms_floor", "dislocation", "double_jointed"]):
        result = run(rules, hm_5pq=five_pq, **everything_stiff)
        assert result.plan["mode"] == "stability_first" and len(result.priorities) >= 2
        assert not _passive(rules) & set(plan_ids(result)), plan_ids(result)


# 2. Normal is normal (§1.2 knee-to-wall ≥ 10 cm is not restricted; §1.3–1.5 normal bands)


@pytest.mark.parametrize(
    ("answers", "region_id"),
    [
        ({"ktw_left_cm": 10, "ktw_right_cm": 10, "feels_tight": ["calves"], "ankle_sprains_count": "2+",
          "injury_history": "older", "injury_areas": ["achilles_calf", "ankle_sprain"]}, "ankle_dorsiflexion"),
        ({"thomas_left": "level_horizontal", "thomas_right": "level_horizontal", "desk_hours": ">10",
          "feels_tight": ["hip_flexors", "lower_back", "hamstrings"], "thomas_knee_straightens": True},
         "hip_extension"),
        ({"hip_ir_left_deg": 31, "hip_ir_right_deg": 42, "terrain": ["trail_technical"],
          "injury_history": "older", "injury_areas": ["knee_front"]}, "hip_internal_rotation"),
        ({"trot_left": "on_line", "trot_right": "past_line", "desk_hours": ">10",
          "feels_tight": ["upper_back"]}, "thoracic_rotation"),
    ],
)
def test_a_normal_result_is_never_a_priority_nor_ranked_first(rules, answers, region_id) -> None:
    result = run(rules, **answers)
    scored = region(result, region_id)
    assert scored["finding"] in ("normal", "borderline")
    assert region_id not in {p["region"] for p in result.priorities}
    assert scored["rank"] == len(result.regions)  # below every region that may need work


def test_knee_to_wall_under_10_cm_is_restricted_and_10_is_not(rules: Rules) -> None:
    assert region(run(rules, ktw_left_cm=9.5), "ankle_dorsiflexion")["finding"] == "restricted"
    assert region(run(rules, ktw_left_cm=10), "ankle_dorsiflexion")["finding"] == "normal"


def test_nothing_restricted_gives_an_honest_maintenance_plan(rules: Rules) -> None:
    tested = run(rules, ktw_left_cm=12, hip_ir_left_deg=40, thomas_left="below_horizontal",
                 trot_left="past_line")
    assert tested.priorities == [] and not any("Nothing stands out" in n for n in tested.notes)
    assert tested.plan["summary"].startswith("Nothing stands out — keep it that way")
    ids = set(plan_ids(tested))
    assert {"hip_cars_standing", "ankle_cars", "spine_cars_cat_camel"} <= ids  # daily CARs
    assert {"sl_rdl", "split_squat_or_sl_quarter_squat", "a_skip"} <= ids  # strength base, drills
    assert not {i for i in ids if tested.plan and rules.exercises[i].kind == "pails_rails"}


def test_with_no_test_done_it_says_a_self_test_would_tell(rules: Rules) -> None:
    result = run(rules)
    assert not any(n.startswith("Nothing stands out") for n in result.notes)
    assert any("would tell" in n for n in result.notes)
    partly = run(rules, ktw_left_cm=12)  # ankle tested, the rest not
    note = next(n for n in partly.notes if "Nothing stands out in the self-tests you did" in n)
    assert "seated hip rotation" in note and "knee-to-wall" not in note


def test_a_questionnaire_estimate_is_labelled_with_its_confidence(rules: Rules) -> None:
    result = run(rules, hip_ir_picture_left="barely_moves_lt20", hip_ir_picture_right="about_30")
    top = result.priorities[0]
    assert top["region"] == "hip_internal_rotation" and top["confidence"] == "estimated"
    assert top["confidence_label"].startswith("Estimated from your answers (medium confidence)")
    assert "seated hip rotation self-test would tell" in top["why"]


# 3. Amber changes the plan (§7; gates declared in rules/safety/red_flags.yaml)


def test_low_energy_availability_removes_fast_running_and_load_progression(rules: Rules) -> None:
    result = run(rules, sex="female", sf_periods="yes", runs_per_week="5")
    plan = result.plan
    assert result.safety["level"] == "amber" and plan["summary"].startswith("Get checked first.")
    ids = set(plan_ids(result))
    assert not {e.id for e in rules.exercises.values() if e.intensity == "high"} & ids
    assert not [d for d in plan["week"] if d["run"] == "quality"]
    strength = [i for i in plan["items"] if i["kind"] == "strength"]
    assert strength and all(i["progression"] == "hold" for i in strength)
    assert any("Left out: Strides" in c for c in plan["limited"]["changes"])


def test_a_gate_that_removed_nothing_does_not_claim_it_did(rules: Rules) -> None:
    # A teenager with no hamstring history: no progressive programme was in the plan to remove.
    result = run(rules, age_band="<18")
    changes = result.plan["limited"]["changes"]
    assert changes and not any("Left out" in c for c in changes)
    assert not any("Left out" in n for n in result.plan["notes"])


def test_pain_in_an_area_removes_everything_that_loads_it(rules: Rules) -> None:
    for area in ("knee_front", "achilles_calf", "lower_back", "hamstring"):
        result = run(rules, current_pain_nrs=5, current_pain_area=[area], current_pain_weeks="under_2",
                     pain_behaviour="eases_as_i_warm_up", ktw_left_cm=7, hip_ir_left_deg=22)
        assert not [i for i in plan_ids(result) if area in rules.exercises[i].loads_areas], area


@pytest.mark.parametrize("sex", [None, "female", "other", "prefer_not_to_say"])
def test_the_periods_question_reaches_anyone_who_might_menstruate(rules, sex) -> None:
    question = rules.assessment.question("sf_periods")
    answers = {} if sex is None else {"sex": sex}
    assert question.visible(answers)
    assert not question.visible({"sex": "male"})


def test_a_skipped_safety_answer_is_visible_to_the_coach(rules: Rules) -> None:
    result = run(rules, sex=None, sf_periods="prefer_not_to_say")
    assert [s["id"] for s in result.skipped_safety] == ["sf_periods"]
    assert run(rules, sex="female", sf_periods="no").skipped_safety == []


# 5. Evidence-aware plans (§1.2 MDC; §3.4 E4 heavy slow loading; §1.3 bone shape; E16)


def test_asymmetry_beyond_measurement_error_makes_the_plan_side_specific(rules: Rules) -> None:
    result = run(rules, ktw_left_cm=7, ktw_right_cm=11)
    assert result.priorities[0]["worse_side"] == "left"
    sided = [i for i in result.plan["items"] if i.get("side")]
    assert sided and all(i["side"] == "left" and "extra set on your left side" in i["side_note"]
                         for i in sided)
    within_error = run(rules, ktw_left_cm=7, ktw_right_cm=8.5)  # 1.5 cm: inside the MDC
    assert within_error.priorities[0]["worse_side"] is None
    assert not [i for i in within_error.plan["items"] if i.get("side")]


def test_a_recent_achilles_problem_swaps_loaded_end_range_for_slow_heavy_loading(rules: Rules) -> None:
    result = run(rules, injury_history="recent_stopped", injury_areas=["achilles_calf"], ktw_left_cm=7)
    ids = plan_ids(result)
    assert "hsr_calf_protocol" in ids and "ankle_df_pails_rails" not in ids
    assert any("slow, heavy calf work" in n for n in result.plan["notes"])
    older = run(rules, injury_history="older", injury_areas=["achilles_calf"], ktw_left_cm=7)
    assert "ankle_df_pails_rails" in plan_ids(older)  # years ago: not a recent tendon problem


def test_a_markedly_restricted_hip_waits_for_a_professional_check(rules: Rules) -> None:
    result = run(rules, hip_ir_left_deg=14, hip_ir_right_deg=16)
    assert result.priorities[0]["end_range_check"] is True
    assert not {"hip_9090_ir_pails_rails", "hip_ir_liftoffs_9090"} & set(plan_ids(result))
    assert any("physiotherapist has checked" in n for n in result.plan["notes"])
    assert "hip_9090_ir_pails_rails" in plan_ids(run(rules, hip_ir_left_deg=24))


def test_strength_guidance_fits_what_the_runner_does_now(rules: Rules) -> None:
    new = run(rules, strength_sessions_per_week="0", goal_event="half", race_date="2027-01-30")
    rdl = next(i for i in new.plan["items"] if i["exercise_id"] == "sl_rdl")
    assert rdl["dosage"].startswith("Weeks 1–2") and "bodyweight" in rdl["dosage"]
    assert not any("keep strength heavy" in n for n in new.plan["notes"])
    trained = run(rules, strength_sessions_per_week="2+", goal_event="half", race_date="2027-01-30")
    assert any("keep strength heavy" in n for n in trained.plan["notes"])


# 6. What the assessment can capture


def test_older_or_run_through_injuries_are_captured(rules: Rules) -> None:
    older = run(rules, injury_history="older", injury_areas=["hamstring"])
    assert "PREVIOUS_INJURY_OLDER" in fired_ids(older.flags)
    assert "nordic_hamstring" in plan_ids(older)
    ran = run(rules, injury_history="recent_ran_through", injury_areas=["shin"])
    assert "PREVIOUS_INJURY_12M" in fired_ids(ran.flags)


def test_lower_back_is_a_tightness_area(rules: Rules) -> None:
    result = run(rules, feels_tight=["lower_back"])
    assert "hip_ext.lower_back_tight" in fired_ids(region(result, "hip_extension")["fired"])


@pytest.mark.parametrize("count", ["1", "2", "4", "7"])
def test_runs_per_week_as_a_number_when_no_days_are_chosen(rules, count) -> None:
    result = run(rules, long_run_day=None, runs_per_week=count)
    assert len([d for d in result.plan["week"] if d["run"]]) == int(count)
