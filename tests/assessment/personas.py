"""Fourteen runners a sports physiotherapist would recognise, with what their outcome must be.

Each persona is a complete answer set (the web flow can walk it) and its expectations:
the top priority (or none), the safety level, flags that must and must not fire, and what
the plan must and must not contain. Built from shared/domain/runner-assessment-research.md;
the section is named on each persona. Used by the engine test (tests/assessment) and by the
web/API/email agreement test (tests/web/test_outcome_agreement.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .helpers import BASELINE

HYPERMOBILE_5PQ = ["palms_floor", "thumb_forearm", "double_jointed"]


def race_in(weeks: int) -> str:
    return (date.today() + timedelta(weeks=weeks, days=2)).isoformat()


@dataclass(frozen=True)
class Persona:
    id: str
    story: str
    changes: dict[str, Any]
    top: str | None  # top priority region, or None
    safety: str = "ok"
    flags: frozenset[str] = frozenset()
    no_flags: frozenset[str] = frozenset()
    plan_has: frozenset[str] = frozenset()
    plan_lacks: frozenset[str] = frozenset()
    mode: str = "standard"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answers(self) -> dict[str, Any]:
        merged = {**BASELINE, **self.changes}
        return {k: v for k, v in merged.items() if v is not None}


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "new_runner_untested",
        "24, female, running 6 months, no self-tests, nothing hurts (§2.1 novice).",
        {"age_band": "18-29", "sex": "female", "sf_periods": "no", "years_running": "<1"},
        top=None,
        flags=frozenset({"NOVICE_OR_RESTART"}),
        plan_has=frozenset({"hip_core_circuit", "hip_cars_standing", "sl_rdl"}),
        plan_lacks=frozenset({"hip_9090_ir_pails_rails", "ankle_df_pails_rails"}),
        extra={"summary_starts": "Nothing stands out so far"},
    ),
    Persona(
        "tested_and_normal",
        "38, male, every self-test inside its normal band (§1.2–1.5).",
        {"ktw_left_cm": 12, "ktw_right_cm": 11.5, "hip_ir_left_deg": 38, "hip_ir_right_deg": 36,
         "thomas_left": "level_horizontal", "thomas_right": "below_horizontal",
         "trot_left": "on_line", "trot_right": "past_line"},
        top=None,
        plan_lacks=frozenset({"ankle_df_pails_rails", "hip_9090_ir_pails_rails",
                              "half_kneel_hip_flexor_pails_rails", "seated_rotation_pails_rails"}),
        extra={"summary_starts": "Nothing stands out — keep it that way"},
    ),
    Persona(
        "borderline_ankle_with_hints",
        "Desk worker, tight calves, old heel trouble; knee-to-wall 10 cm (not a restriction).",
        {"desk_hours": ">10", "feels_tight": ["calves"], "injury_history": "older",
         "injury_areas": ["heel_arch"], "ktw_left_cm": 10, "ktw_right_cm": 10.5},
        top=None,
        flags=frozenset({"PREVIOUS_INJURY_OLDER"}),
        plan_lacks=frozenset({"ankle_df_pails_rails"}),
    ),
    Persona(
        "stiff_left_ankle",
        "Left knee-to-wall 7 cm, right 11 cm: beyond the ~2 cm measurement error (§1.2).",
        {"ktw_left_cm": 7, "ktw_right_cm": 11},
        top="ankle_dorsiflexion",
        plan_has=frozenset({"ankle_cars", "ankle_df_pails_rails", "sl_calf_raise_bent"}),
        extra={"side": ("ankle_df_pails_rails", "left")},
    ),
    Persona(
        "hypermobile_by_questionnaire",
        "22, female, 3 of 5 questionnaire yes, no Beighton test, stiff upper back (§1.9, E9).",
        {"age_band": "18-29", "sex": "female", "sf_periods": "no", "hm_5pq": HYPERMOBILE_5PQ,
         "trot_left": "well_short", "trot_right": "well_short"},
        top="thoracic_rotation",
        flags=frozenset({"HYPERMOBILE"}),
        plan_has=frozenset({"sl_balance_progression", "midrange_isometrics", "t_spine_rotation_quadruped"}),
        plan_lacks=frozenset({"seated_rotation_pails_rails", "thread_the_needle"}),
        mode="stability_first",
    ),
    Persona(
        "hypermobile_over_50",
        "55, male, Beighton 4/9 (the cut-off over 50 is 4), 5PQ negative (§1.9).",
        {"age_band": "50-59", "hm_5pq": ["palms_floor"],
         "beighton_self": ["thumb_left", "thumb_right", "elbow_left", "palms_floor"]},
        top=None,
        flags=frozenset({"HYPERMOBILE"}),
        plan_has=frozenset({"cars_within_control"}),
        mode="stability_first",
    ),
    Persona(
        "low_energy_availability",
        "28, female, periods stopped for 3+ months, 8 cm knee-to-wall (§7 RED-S, SF3/SF4).",
        {"age_band": "18-29", "sex": "female", "sf_periods": "yes", "ktw_left_cm": 8,
         "ktw_right_cm": 8.5, "runs_per_week": "5", "long_run_day": "sun"},
        top="ankle_dorsiflexion",
        safety="amber",
        plan_lacks=frozenset({"strides", "power_skip", "hsr_calf_protocol", "nordic_hamstring"}),
        extra={"gates": {"no_high_intensity", "no_load_progression"}, "no_quality_runs": True},
    ),
    Persona(
        "sore_knee",
        "Front-of-knee pain 6/10 for 2–3 weeks (§7 pain rule): nothing that loads the knee.",
        {"current_pain_nrs": 6, "current_pain_area": ["knee_front"],
         "current_pain_weeks": "2_to_3", "pain_behaviour": "same_throughout",
         "hip_ir_left_deg": 24, "hip_ir_right_deg": 26},
        top="hip_internal_rotation",
        safety="amber",
        plan_lacks=frozenset({"split_squat_or_sl_quarter_squat", "half_kneel_hip_flexor_pails_rails",
                              "midrange_isometrics", "nordic_hamstring", "butt_kicks"}),
        extra={"gates": {"avoid_painful_areas", "no_high_intensity"}, "no_item_loads": "knee_front",
               "no_quality_runs": True},
    ),
    Persona(
        "chest_pain",
        "61, chest pressure on exertion (§7 urgent): a clinician, no plan, no selling.",
        {"age_band": "60-69", "sf_screen": ["exertion_chest"], "ktw_left_cm": 7},
        top=None,
        safety="red",
    ),
    Persona(
        "recent_achilles",
        "Ran through Achilles trouble this year; 8 cm knee-to-wall (§3.4, E4).",
        {"injury_history": "recent_ran_through", "injury_areas": ["achilles_calf"],
         "ktw_left_cm": 8, "ktw_right_cm": 8},
        top="ankle_dorsiflexion",
        flags=frozenset({"PREVIOUS_INJURY_12M"}),
        plan_has=frozenset({"ankle_cars", "hsr_calf_protocol"}),
        plan_lacks=frozenset({"ankle_df_pails_rails", "ankle_df_overpressure",
                              "sl_calf_raise_straight", "sl_calf_raise_bent"}),
    ),
    Persona(
        "bony_hip",
        "Seated hip rotation 15° and 18°: can reflect hip shape, check before end-range (§1.3).",
        {"hip_ir_left_deg": 15, "hip_ir_right_deg": 18},
        top="hip_internal_rotation",
        plan_has=frozenset({"hip_cars_standing", "copenhagen_plank"}),
        plan_lacks=frozenset({"hip_9090_ir_pails_rails", "hip_ir_liftoffs_9090"}),
        extra={"note_contains": "physiotherapist has checked"},
    ),
    Persona(
        "first_marathon_no_strength",
        "First marathon in 12 weeks, 25 km a week, no strength training (§2.1, E16).",
        {"goal_event": "marathon", "race_date": race_in(12), "first_marathon": True,
         "weekly_km": 25, "strength_sessions_per_week": "0"},
        top=None,
        flags=frozenset({"MARATHON_BUILD", "MARATHON_LOW_VOLUME", "FIRST_MARATHON",
                         "NO_STRENGTH_WORK"}),
        plan_has=frozenset({"sl_rdl"}),
        extra={"starter": "sl_rdl", "phase_note_lacks": "keep strength heavy"},
    ),
    Persona(
        "old_hamstring_runs_by_count",
        "45, male, hamstring injury 2 years ago, no fixed days, 5 runs a week.",
        {"age_band": "40-49", "injury_history": "older", "injury_areas": ["hamstring"],
         "runs_per_week": "5", "long_run_day": "sat"},
        top=None,
        flags=frozenset({"PREVIOUS_INJURY_OLDER"}),
        no_flags=frozenset({"PREVIOUS_INJURY_12M"}),
        plan_has=frozenset({"nordic_hamstring"}),
        extra={"run_days": 5},
    ),
    Persona(
        "sex_unanswered_period_skipped",
        "Left sex blank (so the periods question was asked) and preferred not to say.",
        {"sex": None, "sf_periods": "prefer_not_to_say"},
        top=None,
        extra={"skipped_safety": {"sf_periods"}},
    ),
    Persona(
        "teenager",
        "16, keen, new to strength work: guardian consent and light loads (§7 minors).",
        {"age_band": "<18", "strength_sessions_per_week": "0"},
        top=None,
        safety="amber",
        flags=frozenset({"NO_STRENGTH_WORK"}),
        plan_lacks=frozenset({"nordic_hamstring", "hsr_calf_protocol"}),
        extra={"gates": {"no_load_progression"}},
    ),
)
