"""Strategy-session form data and coach fixtures for tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

STRATEGY_FORM: dict[str, Any] = {
    "first_name": "Dana",
    "last_name": "Runner",
    "email": "dana.runner@example.com",
    "phone": "(512) 555-0143",
    "goals": "Run the Austin Marathon without my knee giving out at mile 18.",
    "running_history": "2-5",
    "weekly_km": "45",
    "race_name": "Austin Marathon",
    "race_date": (date.today() + timedelta(weeks=12)).isoformat(),
    "dealing_with": ["pain", "structure"],
    "limitations": "Left knee pain after long runs.",
    "services": ["mobility_coaching"],
    "delivery": "in_person",
    "in_area": "yes",
    "start_timing": "asap",
    "preferred_contact": "phone",
    "contact_times": ["evenings"],
    "time_zone": "America/Chicago",
    "heard_about": "strava",
    "consent": "y",
}


def make_coach(db, **overrides: Any):
    from coachapp.models import Coach

    values = {
        "name": "Sam Coach", "email": "sam@motive.example", "time_zone": "America/Chicago",
        "working_hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "services": ["personal_training", "mobility_coaching", "kinstretch", "online_coaching"],
        "in_person": True, "online": True, "is_owner": False, "active": True,
    }
    values.update(overrides)
    coach = Coach(**values)
    db.session.add(coach)
    db.session.commit()
    return coach
