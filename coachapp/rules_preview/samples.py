"""Sample runners for the what-if simulator and the preview: a few built-in personas (answer
sets a physiotherapist would recognise, after tests/assessment/personas.py) and the last stored
submissions. Answers that a rule set does not ask are dropped by the engine itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission

BASELINE: dict[str, Any] = {
    "age_band": "30-39", "sex": "male", "desk_hours": "4-6", "strength_sessions_per_week": "2+",
    "hm_5pq": [], "sf_screen": ["none"], "years_running": "2-5", "restarting_after_break": False,
    "runs_per_week": "3", "long_run_day": "sun", "weekly_km": 30, "weekly_change": "about_same",
    "longest_run_30d_km": 15, "planned_longest_next_14d_km": 15, "terrain": ["road"], "goal_event": "none",
    "injury_history": "none", "current_pain_nrs": 0, "feels_tight": ["none"],
}


@dataclass(frozen=True)
class Persona:
    id: str
    label: str
    changes: dict[str, Any]

    def answers(self, today: date) -> dict[str, Any]:
        merged = {**BASELINE, **self.changes}
        if merged.get("race_date") == "in_10_weeks":
            merged["race_date"] = (today + timedelta(weeks=10)).isoformat()
        return {k: v for k, v in merged.items() if v is not None}


PERSONAS: tuple[Persona, ...] = (
    Persona("new_runner", "New runner, 6 months in, no self-tests, nothing hurts",
            {"age_band": "18-29", "sex": "female", "sf_periods": "no", "years_running": "<1"}),
    Persona("stiff_ankle", "Desk worker with a stiff left ankle (knee-to-wall 7 cm / 11 cm)",
            {"desk_hours": ">10", "feels_tight": ["calves"], "ktw_left_cm": 7, "ktw_right_cm": 11}),
    Persona("stiff_calves_desk", "Desk worker, tight calves, both ankles a little stiff (knee-to-wall 9 cm)",
            {"desk_hours": ">10", "feels_tight": ["calves"], "ktw_left_cm": 9, "ktw_right_cm": 9}),
    Persona("marathon_soon", "Marathon in 10 weeks, tight hips, older injury",
            {"goal_event": "marathon", "race_date": "in_10_weeks", "injury_history": "older",
             "injury_areas": ["heel_arch"], "feels_tight": ["hip_flexors"], "hip_ir_left_deg": 24,
             "hip_ir_right_deg": 26}),
    Persona("ankle_and_hips", "Desk worker, stiff left ankle and tight hips (knee-to-wall 7 cm, hip rotation 24°/26°)",
            {"desk_hours": ">10", "feels_tight": ["calves", "hip_flexors"], "ktw_left_cm": 7, "ktw_right_cm": 11,
             "hip_ir_left_deg": 24, "hip_ir_right_deg": 26}),
    Persona("sore_knee", "Front-of-knee pain 6/10 for 2–3 weeks",
            {"current_pain_nrs": 6, "current_pain_area": ["knee_front"], "current_pain_weeks": "2_to_3",
             "pain_behaviour": "same_throughout"}),
    Persona("hypermobile", "22, hypermobile by questionnaire, stiff upper back",
            {"age_band": "18-29", "sex": "female", "sf_periods": "no",
             "hm_5pq": ["palms_floor", "thumb_forearm", "double_jointed"],
             "trot_left": "well_short", "trot_right": "well_short"}),
)
BY_ID = {p.id: p for p in PERSONAS}
DEFAULT = "stiff_calves_desk"


def recent_submissions(limit: int = 15) -> list[tuple[int, Any, str | None]]:
    """(id, completed at, stored top priority) of the last completed submissions."""
    return [tuple(r) for r in db.session.execute(
        select(AssessmentSubmission.id, AssessmentSubmission.completed_at, AssessmentSubmission.top_priority)
        .where(AssessmentSubmission.status == "completed", AssessmentSubmission.completed_at.is_not(None))
        .order_by(AssessmentSubmission.completed_at.desc(), AssessmentSubmission.id.desc()).limit(limit))]


def sample_answers(key: str, today: date) -> tuple[str, dict[str, Any]] | None:
    """(label, answers) of ``persona:<id>`` or ``submission:<id>``; None when there is no such sample."""
    kind, _, ident = (key or "").partition(":")
    if kind == "persona" and ident in BY_ID:
        persona = BY_ID[ident]
        return persona.label, persona.answers(today)
    if kind == "submission" and re.fullmatch(r"[1-9][0-9]{0,8}", ident):  # within INTEGER, ASCII digits
        answers = db.session.execute(
            select(AssessmentSubmission.answers).where(AssessmentSubmission.id == int(ident),
                                                       AssessmentSubmission.status == "completed")).scalar()
        if answers is not None:
            return f"Submission #{ident}", dict(answers)
    return None
