"""Persona cases from the domain research, end to end through evaluate()."""

from __future__ import annotations

import json

import pytest

from coachapp.assessment import Rules, evaluate

from .helpers import TODAY, answers, fired_ids, plan_ids, region, run

HYPERMOBILE = {
    "hm_5pq": ["palms_floor", "thumb_forearm", "double_jointed"],
    "beighton_self": [
        "little_finger_left",
        "little_finger_right",
        "thumb_left",
        "thumb_right",
        "elbow_left",
        "palms_floor",
    ],
    "sex": "female",
    "sf_periods": "no",
}


def test_desk_worker_with_achilles_history_and_tight_ankles(rules: Rules) -> None:
    result = run(
        rules,
        desk_hours=">10",
        injury_history="recent_stopped",
        injury_areas=["achilles_calf"],
        ktw_left_cm=8,
        ktw_right_cm=8,
    )
    top = result.priorities[0]
    assert top["region"] == "ankle_dorsiflexion" and top["confidence"] == "measured"
    ankle = region(result, "ankle_dorsiflexion")
    assert ankle["rank"] == 1 and ankle["score"] == 50
    ktw = next(f for f in ankle["fired"] if f["rule_id"] == "ankle.ktw_band")
    assert ktw["reason"].startswith("Knee-to-wall 8 cm") and ktw["evidence"] == "moderate"
    assert "knee-to-wall 8 cm" in top["why"] and top["why"].startswith("These answers suggest")
    items = plan_ids(result)
    # A recent Achilles problem swaps loaded end-range ankle holds for slow heavy calf work.
    assert {"ankle_cars", "hsr_calf_protocol"} <= set(items)
    assert not {"ankle_df_pails_rails", "sl_calf_raise_bent", "sl_calf_raise_straight"} & set(items)
    assert {"sl_rdl", "split_squat_or_sl_quarter_squat"} <= set(items)
    assert "PREVIOUS_INJURY_12M" in fired_ids(result.flags)
    assert result.safety == {
        "level": "ok", "outcome": "plan", "message": None, "fired": [], "gates": []
    }


def test_hypermobile_runner_gets_stability_not_stretching(rules: Rules) -> None:
    result = run(rules, **HYPERMOBILE, desk_hours=">10", trot_left="well_short", hip_ir_left_deg=22)
    assert result.stability["mode"] == "stability_first" and result.stability["score"] >= 50
    plan = result.plan
    assert plan["mode"] == "stability_first"
    assert not [i for i in plan["items"] if i["kind"] == "pails_rails"]
    stability_items = [i for i in plan["items"] if i["block"] == "stability"]
    assert {"sl_balance_progression", "midrange_isometrics"} <= {
        i["exercise_id"] for i in stability_items
    }
    assert "hip_ir_liftoffs_9090" in plan_ids(result)
    assert any(b["block"] == "stability" for day in plan["week"] for b in day["blocks"])
    assert "HYPERMOBILE" in fired_ids(result.flags)


def test_hypermobile_without_priorities_still_gets_stability_work(rules: Rules) -> None:
    result = run(rules, **HYPERMOBILE)
    assert result.priorities == []
    assert "sl_balance_progression" in plan_ids(result)
    assert "cars_within_control" in plan_ids(result)


def test_chest_pain_on_exertion_stops_the_plan(rules: Rules) -> None:
    result = run(rules, sf_screen=["exertion_chest"], ktw_left_cm=7)
    assert result.safety["level"] == "red"
    assert result.safety["outcome"] == "see_clinician"
    assert result.safety["fired"][0]["id"] == "RF_CARDIAC" and result.safety["fired"][0][
        "sources"
    ] == ["SF1"]
    assert result.plan is None and result.priorities == []
    assert region(result, "ankle_dorsiflexion")["score"] == 65  # still scored for the coach


def test_fainting_is_red(rules: Rules) -> None:
    assert run(rules, sf_screen=["dizzy_faint"]).safety["outcome"] == "see_clinician"


@pytest.mark.parametrize(
    "symptom",
    [
        "night_rest_pain",
        "numb_tingle_weak",
        "saddle_bladder",
        "acute_swelling",
        "cannot_bear_weight",
        "bony_spot_hop",
        "hot_swollen_calf",
        "fever_weightloss",
    ],
)
def test_every_red_flag_symptom_is_red(rules: Rules, symptom: str) -> None:
    result = run(rules, sf_screen=[symptom])
    assert result.safety["level"] == "red" and result.plan is None
    assert result.safety["fired"][0]["level"] == "red"


def test_the_safety_list_has_no_untested_option(rules: Rules) -> None:
    options = {o.value for o in rules.assessment.question("sf_screen").options}
    red = {"exertion_chest", "dizzy_faint", "night_rest_pain", "numb_tingle_weak", "saddle_bladder",
           "acute_swelling", "cannot_bear_weight", "bony_spot_hop", "hot_swollen_calf", "fever_weightloss"}
    assert options == red | {"none", "heart_bp_meds", "prior_stress_fracture"}  # the last two: amber


def test_amber_knee_pain_limits_the_plan(rules: Rules) -> None:
    result = run(
        rules,
        current_pain_nrs=6,
        current_pain_area=["knee_front"],
        pain_behaviour="same_throughout",
        current_pain_weeks="2_to_3",
        hip_ir_left_deg=22,
    )
    assert result.safety["level"] == "amber" and result.safety["outcome"] == "plan_limited"
    assert [f["id"] for f in result.safety["fired"]] == ["AF_PAIN_PERSISTENT"]
    plan = result.plan
    loads = {i["exercise_id"]: rules.exercises[i["exercise_id"]].loads_areas for i in plan["items"]}
    assert loads and not [e for e, areas in loads.items() if "knee_front" in areas]
    assert "split_squat_or_sl_quarter_squat" not in loads
    assert result.safety["message"] not in plan["advice"]  # said once, at the top of the results
    assert plan["summary"].startswith("Get checked first.")
    assert any("Left out: Split squat" in change for change in plan["limited"]["changes"])
    assert "(front of the knee or kneecap)" in result.safety["fired"][0]["reason"]


def test_pain_on_the_single_leg_squat_is_amber(rules: Rules) -> None:
    result = run(rules, sls_left="0_pain", sls_right="3_clean")
    assert result.safety["level"] == "amber"
    assert "split_squat_or_sl_quarter_squat" not in plan_ids(result)


@pytest.mark.parametrize(
    "changes",
    [
        {"sf_screen": ["heart_bp_meds"]},
        {"sf_screen": ["prior_stress_fracture"]},
        {"age_band": "<18"},
        {"sex": "female", "sf_periods": "yes"},
        {"age_band": "70+", "years_running": "<1"},
        {"current_pain_nrs": 3, "current_pain_area": ["shin"], "current_pain_weeks": "4_to_12"},
    ],
)
def test_amber_rules(rules: Rules, changes: dict) -> None:
    result = run(rules, **changes)
    assert result.safety["level"] == "amber" and result.plan is not None


def test_mild_short_pain_is_not_amber(rules: Rules) -> None:
    result = run(
        rules,
        current_pain_nrs=3,
        current_pain_area=["shin"],
        current_pain_weeks="2_to_3",
        pain_behaviour="eases_as_i_warm_up",
    )
    assert result.safety["level"] == "ok"


def test_weak_questionnaire_hints_are_not_priorities(rules: Rules) -> None:
    """No fallback: a few answers under the threshold are not dressed up as priorities."""
    result = run(rules, desk_hours=">10")
    hip = region(result, "hip_extension")
    assert hip["score"] == 10 and hip["confidence"] == "estimated"
    assert hip["confidence_label"].startswith("Estimated from your answers (low confidence)")
    assert result.priorities == [] and result.plan["regions"] == []
    assert any("answers alone can't rule one out" in n and "would tell" in n for n in result.notes)
    assert not any(n.startswith("Nothing stands out") for n in result.notes)


def test_all_zero_gives_a_maintenance_plan(rules: Rules) -> None:
    result = run(rules)
    assert result.priorities == [] and result.plan["regions"] == []
    # No self-test was done, so the plan does not claim that nothing stands out.
    assert result.plan["summary"].startswith("Nothing stands out so far")
    assert "can't be ruled out" in result.plan["summary"]
    assert {"hip_cars_standing", "ankle_cars", "sl_rdl"} <= set(plan_ids(result))


def test_result_is_json_serialisable_and_pure(rules: Rules) -> None:
    data = answers(goal_event="marathon", race_date="2027-04-01", ktw_left_cm=9)
    before = json.dumps(data, sort_keys=True)
    first = evaluate(rules, data, today=TODAY).to_dict()
    second = evaluate(rules, data, today=TODAY).to_dict()
    assert first == second and json.dumps(data, sort_keys=True) == before
    assert set(first) == {
        "skipped_safety",
        "rules_version",
        "safety",
        "derived",
        "regions",
        "stability",
        "flags",
        "priorities",
        "plan",
        "trace",
        "notes",
    }
    json.dumps(first)
    assert first["rules_version"] == rules.version
    assert {"stage": "regions", "rule_id": "ankle.ktw_band", "fired": True, "points": 45} in first[
        "trace"
    ]


def test_stale_hidden_answers_are_ignored(rules: Rules) -> None:
    result = run(rules, goal_event="none", race_date="2027-01-01")
    assert result.derived["weeks_to_race"] is None and result.plan["phase"]["id"] == "no_race"
