"""Strategy-session form data and coach fixtures for tests."""

from __future__ import annotations

from typing import Any

#: The standalone form (no recent assessment): 12 fields.
STRATEGY_FORM: dict[str, Any] = {
    "first_name": "Dana",
    "email": "dana.runner@example.com",
    "phone": "(512) 555-0143",
    "goals": "Run the Austin Marathon without my knee giving out at mile 18.",
    "dealing_with": ["pain", "structure"],
    "services": ["mobility_coaching"],
    "delivery": "in_person",
    "start_timing": "asap",
    "preferred_contact": "phone",
    "time_zone": "America/Chicago",
    "consent": "y",
}

#: From a recent assessment: only what is new (8 fields).
QUICK_FORM: dict[str, Any] = {
    "goals": "Run the Austin Marathon without my knee giving out at mile 18.",
    "services": ["mobility_coaching"],
    "delivery": "either_near",
    "preferred_contact": "phone",
    "contact_times": ["evenings"],
    "phone": "(512) 555-0143",
    "time_zone": "America/Chicago",
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
