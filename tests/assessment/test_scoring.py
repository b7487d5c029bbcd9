"""Region and stability scores, band edges, proxy weighting, asymmetry and load flags."""

from __future__ import annotations

from datetime import date

import pytest

from coachapp.assessment import Rules

from .helpers import fired_ids, region, run


@pytest.mark.parametrize(
    ("cm", "points"),
    [
        (20, 0),
        (12, 0),
        (11.5, 0),
        (10, 0),  # 10 cm and over is not a restriction (research §1.2)
        (9.5, 45),
        (8, 45),
        (7.5, 65),
        (5, 65),
        (4.5, 80),
        (0, 80),
    ],
)
def test_knee_to_wall_band_edges(rules: Rules, cm: float, points: int) -> None:
    ankle = region(run(rules, ktw_left_cm=cm, ktw_right_cm=cm), "ankle_dorsiflexion")
    assert ankle["score"] == points
    assert ankle["confidence"] == "measured"
    assert ankle["fired"][0]["rule_id"] == "ankle.ktw_band"


def test_knee_to_wall_uses_the_worse_side_and_one_side_is_enough(rules: Rules) -> None:
    assert region(run(rules, ktw_left_cm=12, ktw_right_cm=9), "ankle_dorsiflexion")["score"] >= 45
    assert region(run(rules, ktw_left_cm=9), "ankle_dorsiflexion")["score"] == 45


def test_proxy_points_are_halved_when_a_measurement_fired(rules: Rules) -> None:
    injured = {"injury_history": "recent_stopped", "injury_areas": ["achilles_calf"]}
    proxy_only = region(run(rules, **injured), "ankle_dorsiflexion")
    assert proxy_only["score"] == 10 and proxy_only["confidence"] == "estimated"
    measured = region(run(rules, **injured, ktw_left_cm=12, ktw_right_cm=12), "ankle_dorsiflexion")
    proxy = next(f for f in measured["fired"] if f["rule_id"] == "ankle.heel_or_achilles_history")
    assert (proxy["raw_points"], proxy["points"]) == (10, 5)
    assert measured["score"] == 5 and measured["confidence"] == "measured"


def test_self_report_is_not_weighted(rules: Rules) -> None:
    ankle = region(
        run(rules, feels_tight=["calves"], ktw_left_cm=12, ktw_right_cm=12), "ankle_dorsiflexion"
    )
    tight = next(f for f in ankle["fired"] if f["rule_id"] == "ankle.calves_feel_tight")
    assert tight["points"] == tight["raw_points"] == 5


@pytest.mark.parametrize(
    ("changes", "rule_id", "fires"),
    [
        ({"ktw_left_cm": 10, "ktw_right_cm": 8.5}, "ankle.ktw_asymmetry", False),
        ({"ktw_left_cm": 10, "ktw_right_cm": 8}, "ankle.ktw_asymmetry", True),
        ({"hip_ir_left_deg": 35, "hip_ir_right_deg": 26}, "hip_ir.asymmetry", False),
        ({"hip_ir_left_deg": 35, "hip_ir_right_deg": 25}, "hip_ir.asymmetry", True),
        ({"trot_left": "past_line", "trot_right": "on_line"}, "trot.asymmetry", False),
        ({"trot_left": "past_line", "trot_right": "short_hand_width"}, "trot.asymmetry", True),
    ],
)
def test_asymmetry_only_beyond_measurement_error(
    rules: Rules, changes: dict, rule_id: str, fires: bool
) -> None:
    result = run(rules, **changes)
    fired = {f["rule_id"] for r in result.regions for f in r["fired"]}
    assert (rule_id in fired) is fires


@pytest.mark.parametrize(
    ("left", "right", "fires"), [(40, 35, False), (40, 34, True), (20, 20, False), (19, 25, True)]
)
def test_heel_raise_asymmetry_and_low_count(
    rules: Rules, left: int, right: int, fires: bool
) -> None:
    result = run(rules, heel_raise_left_reps=left, heel_raise_right_reps=right)
    assert ("LOW_CALF_CAPACITY" in fired_ids(result.flags)) is fires


def test_hip_ir_picture_is_a_fallback_only(rules: Rules) -> None:
    picture = region(run(rules, hip_ir_picture_left="barely_moves_lt20"), "hip_internal_rotation")
    assert picture["score"] == 60 and picture["confidence"] == "estimated"
    measured = region(
        run(rules, hip_ir_left_deg=40, hip_ir_picture_right="barely_moves_lt20"),
        "hip_internal_rotation",
    )
    assert fired_ids(measured["fired"]) == {"hip_ir.seated_band"} and measured["score"] == 0


def test_thomas_and_reason_rendering(rules: Rules) -> None:
    hip = region(
        run(
            rules,
            thomas_left="level_horizontal",
            thomas_right="well_above",
            thomas_knee_straightens=True,
        ),
        "hip_extension",
    )
    assert hip["score"] == 75
    assert hip["fired"][0]["reason"].startswith("Thigh stays well above the bed")


def test_scores_are_clamped_to_100(rules: Rules) -> None:
    result = run(
        rules,
        hip_ir_left_deg=10,
        hip_ir_right_deg=30,
        terrain=["trail_technical"],
        injury_history="recent_stopped",
        injury_areas=["knee_front"],
    )
    assert region(result, "hip_internal_rotation")["score"] == 100


def test_regions_are_ranked(rules: Rules) -> None:
    result = run(rules, ktw_left_cm=9, trot_left="well_short", desk_hours=">10")
    assert [r["rank"] for r in result.regions] == [1, 2, 3, 4]
    assert [r["id"] for r in result.regions][:2] == ["thoracic_rotation", "ankle_dorsiflexion"]
    scores = [r["score"] for r in result.regions]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(("planned", "fires"), [(11, False), (11.1, True), (10, False), (22, True)])
def test_single_run_spike_cut_off(rules: Rules, planned: float, fires: bool) -> None:
    result = run(rules, longest_run_30d_km=10, planned_longest_next_14d_km=planned)
    assert ("SINGLE_RUN_SPIKE" in fired_ids(result.flags)) is fires
    assert result.derived["spike_ratio"] == round(planned / 10, 3)


def test_spike_reason_and_advice(rules: Rules) -> None:
    result = run(rules, longest_run_30d_km=16, planned_longest_next_14d_km=20)
    flag = next(f for f in result.flags if f["id"] == "SINGLE_RUN_SPIKE")
    assert "125% of the longest run" in flag["reason"] and flag["sources"] == ["R7"]
    assert any("17.6 km" in line for line in result.plan["advice"])


def test_weekly_jump_flag(rules: Rules) -> None:
    assert "WEEKLY_JUMP_OVER_30" in fired_ids(run(rules, weekly_change="up_over_30").flags)
    assert "WEEKLY_JUMP_OVER_30" not in fired_ids(run(rules, weekly_change="up_10_30").flags)


@pytest.mark.parametrize(
    ("race", "weeks", "phase"),
    [
        ("2026-12-05", 2, "taper"),
        ("2026-12-12", 3, "specific"),
        ("2027-03-13", 16, "specific"),
        ("2027-03-20", 17, "build"),
        ("2026-11-21", 0, "taper"),
        ("2026-11-20", None, "no_race"),
    ],
)
def test_weeks_to_race_with_a_fixed_today(
    rules: Rules, race: str, weeks: int | None, phase: str
) -> None:
    result = run(rules, goal_event="marathon", race_date=race)
    assert result.derived["weeks_to_race"] == weeks
    assert result.plan["phase"]["id"] == phase
    marathon = next(f for f in result.flags if f["id"] == "MARATHON_BUILD")
    assert (f"with {weeks} weeks to go" in marathon["reason"]) is (weeks is not None)


def test_weeks_to_race_moves_with_today(rules: Rules) -> None:
    result = run(rules, today=date(2027, 3, 6), goal_event="half", race_date="2027-03-13")
    assert result.derived["weeks_to_race"] == 1


def test_marathon_flags(rules: Rules) -> None:
    low = fired_ids(run(rules, goal_event="marathon", weekly_km=25, first_marathon=True).flags)
    assert {"MARATHON_BUILD", "MARATHON_LOW_VOLUME", "FIRST_MARATHON"} <= low
    assert "MARATHON_LOW_VOLUME" not in fired_ids(
        run(rules, goal_event="marathon", weekly_km=30).flags
    )
    ultra = fired_ids(run(rules, goal_event="ultra", weekly_km=20, first_marathon=True).flags)
    assert "MARATHON_BUILD" in ultra and not {"MARATHON_LOW_VOLUME", "FIRST_MARATHON"} & ultra


def test_other_flags(rules: Rules) -> None:
    flags = fired_ids(
        run(
            rules,
            years_running="<1",
            strength_sessions_per_week="0",
            terrain=["trail_technical"],
            injury_history="recent_stopped",
            injury_areas=["shin"],
        ).flags
    )
    assert flags == {
        "NOVICE_OR_RESTART",
        "NO_STRENGTH_WORK",
        "TECHNICAL_TRAIL",
        "PREVIOUS_INJURY_12M",
    }
    assert fired_ids(run(rules).flags) == set()


def test_flags_sorted_by_severity(rules: Rules) -> None:
    result = run(
        rules, terrain=["trail_technical"], injury_history="recent_stopped", injury_areas=["shin"],
        years_running="<1",
    )
    assert [f["severity"] for f in result.flags] == ["high", "medium", "low"]


@pytest.mark.parametrize(
    ("changes", "score", "mode"),
    [
        # A positive 5PQ is a validated screen on its own: stability-first without a Beighton test.
        ({"hm_5pq": ["palms_floor", "thumb_forearm"]}, 50, "stability_first"),
        ({"hm_5pq": ["palms_floor"]}, 0, "standard"),
        (
            {
                "hm_5pq": ["palms_floor", "thumb_forearm"],
                "beighton_self": [
                    "thumb_left",
                    "thumb_right",
                    "elbow_left",
                    "elbow_right",
                    "palms_floor",
                ],
            },
            100,
            "stability_first",
        ),
        (
            {
                "hm_5pq": ["palms_floor", "dislocation"],
                "beighton_self": ["thumb_left", "thumb_right", "elbow_left", "palms_floor"],
            },
            100,  # 5PQ 50 + Beighton 4 at the cut-off lowered to 4 by the 5PQ 50 + dislocations 15
            "stability_first",
        ),
        (
            {
                "age_band": "50-59",
                "beighton_self": ["thumb_left", "thumb_right", "elbow_left", "palms_floor"],
            },
            50,
            "stability_first",
        ),
        (
            {"beighton_self": ["thumb_left", "thumb_right", "elbow_left", "palms_floor"]},
            0,
            "standard",
        ),
        (
            {"sls_left": "2_compensates", "sls_right": "3_clean", "balance_left_s": 19},
            35,
            "standard",
        ),
        ({"balance_left_s": 20, "balance_right_s": 25}, 0, "standard"),
    ],
)
def test_stability_need(rules: Rules, changes: dict, score: int, mode: str) -> None:
    result = run(rules, **changes)
    assert (result.stability["score"], result.stability["mode"]) == (score, mode)
    assert ("HYPERMOBILE" in fired_ids(result.flags)) is (score >= 50)
