"""Helpers: the real rules folder, a fixed `today` and a neutral baseline runner."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from coachapp.assessment import Result, Rules, evaluate

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
TODAY = date(2026, 11, 21)

# A healthy, established runner with no flags, pain or self-tests: every region scores 0.
BASELINE: dict[str, Any] = {
    "age_band": "30-39",
    "sex": "male",
    "desk_hours": "4-6",
    "strength_sessions_per_week": "2+",
    "hm_5pq": [],
    "sf_screen": ["none"],
    "years_running": "2-5",
    "restarting_after_break": False,
    "runs_per_week": "3",
    "long_run_day": "sun",
    "weekly_km": 30,
    "weekly_change": "about_same",
    "longest_run_30d_km": 15,
    "planned_longest_next_14d_km": 15,
    "terrain": ["road"],
    "goal_event": "none",
    "injury_history": "none",
    "current_pain_nrs": 0,
    "feels_tight": ["none"],
}


def answers(**changes: Any) -> dict[str, Any]:
    """The baseline with changes applied; a value of None removes the answer."""
    merged = {**BASELINE, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def run(rules: Rules, today: date = TODAY, **changes: Any) -> Result:
    return evaluate(rules, answers(**changes), today=today)


def region(result: Result, region_id: str) -> dict[str, Any]:
    return next(r for r in result.regions if r["id"] == region_id)


def fired_ids(entries: list[dict[str, Any]]) -> set[str]:
    return {e.get("rule_id") or e["id"] for e in entries}


def plan_ids(result: Result) -> list[str]:
    assert result.plan is not None
    return [item["exercise_id"] for item in result.plan["items"]]
