"""Personas (answer sets keyed by question id) and a walker that completes the
web assessment step by step the way a browser would."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

CORE: dict[str, Any] = {
    "age_band": "30-39",
    "sex": "female",
    "desk_hours": ">10",
    "strength_sessions_per_week": "0",
    "sf_exertion_chest": False,
    "sf_dizzy_faint": False,
    "sf_heart_bp_meds": False,
    "sf_symptoms": ["none"],
    "sf_periods": "no",
    "sf_prior_stress_fracture": False,
    "years_running": "2-5",
    "restarting_after_break": False,
    "run_days": ["tue", "thu", "sat"],
    "long_run_day": "sat",
    "weekly_km": 30,
    "weekly_change": "about_same",
    "longest_run_30d_km": 15,
    "planned_longest_next_14d_km": 16,
    "terrain": ["road"],
    "goal_event": "half",
    "race_date": (date.today() + timedelta(weeks=10)).isoformat(),
    "injury_history": "recent_stopped",
    "injury_areas": ["achilles_calf"],
    "current_pain_nrs": 0,
    "feels_tight": ["calves"],
    "hm_5pq": [],
}

#: Desk worker with an Achilles history and 8 cm knee-to-wall: ankle first.
DESK_ACHILLES = {**CORE, "ktw_left_cm": 8, "ktw_right_cm": 8}

#: Chest pain on exertion: clinician first, no plan.
CHEST_PAIN = {**CORE, "sf_exertion_chest": True}

CONTACT = {"first_name": "Dana", "email": "Dana.Runner@Example.com",
           "consent_health": True, "consent_marketing": True}


def form_value(value: Any) -> Any:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def section_form(section, answers: dict[str, Any]) -> dict[str, Any]:
    data = {q.id: form_value(answers[q.id]) for q in section.questions if q.id in answers}
    data["shown"] = ",".join(q.id for q in section.questions)
    return data


def walk_assessment(web, rules, answers: dict[str, Any], contact: dict[str, Any] | None = None,
                    query: str = "") -> str:
    """Complete the assessment through the web client; returns the token."""
    web.get(f"/assessment{query}")
    response = web.post("/assessment/start")
    assert response.status_code == 302, response.get_data(as_text=True)
    token = response.headers["Location"].split("/")[2]
    for section in rules.assessment.sections:
        url = f"/assessment/{token}/{section.id}"
        web.get(url)
        data = section_form(section, answers)
        if section.optional and len(data) == 1:
            response = web.post(url, {"nav": "skip"})
        else:
            response = web.post(url, {**data, "nav": "next"})
        assert response.status_code == 302, (section.id, response.get_data(as_text=True)[:3000])
    if contact is not None:
        url = f"/assessment/{token}/contact"
        web.get(url)
        payload = {"time_zone": "America/Chicago",
                   **{k: ("y" if v is True else v) for k, v in contact.items() if v is not False}}
        response = web.post(url, {**payload, "nav": "next"})
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        assert response.headers["Location"].endswith(f"/assessment/{token}/results")
    return token


def complete_assessment(answers: dict[str, Any], email: str, now=None, first_name: str = "Dana",
                        marketing: bool = True):
    """Complete an assessment through the service layer and commit (the outbox publishes)."""
    from coachapp.emails import outbox
    from coachapp.leads.assessments import complete, save_step_all, start
    from coachapp.leads.services import Contact
    from coachapp.models import utcnow
    from coachapp.rules_store import get_rules

    now = now or utcnow()
    rules = get_rules()
    submission = start({}, now)
    save_step_all(rules, submission, answers, now)
    lead = complete(rules, submission, Contact(first_name, email, True, marketing), now).lead
    outbox.commit()
    return lead
