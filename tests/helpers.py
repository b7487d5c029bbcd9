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
    "sf_screen": ["none"],
    "sf_periods": "no",
    "years_running": "2-5",
    "restarting_after_break": False,
    "runs_per_week": "3",
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
CHEST_PAIN = {**CORE, "sf_screen": ["exertion_chest"]}

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


def screen_form(screen, answers: dict[str, Any]) -> dict[str, Any]:
    return {q.id: form_value(answers[q.id]) for q in screen.questions if q.id in answers}


def walk_assessment(web, rules, answers: dict[str, Any], contact: dict[str, Any] | None = None,
                    query: str = "", tests: bool | None = None, location: str | None = None) -> str:
    """Complete the assessment through the web client, screen by screen, following the
    redirects like a browser; returns the token. Self-tests are done when the answers hold
    any (or ``tests=True``), and each test without answers is skipped. ``location``: carry on
    from this step URL (a retake already started) instead of starting."""
    if location is None:
        web.get(f"/assessment{query}")
        response = web.post("/assessment/start")
        assert response.status_code == 302, response.get_data(as_text=True)
        location = response.headers["Location"]
    token = location.split("/")[2]
    test_ids = {q.id for q in rules.assessment.questions if q.test}
    do_tests = bool(test_ids & set(answers)) if tests is None else tests
    for _ in range(120):
        step_id = location.rstrip("/").split("/")[-1]
        if step_id in ("contact", "results"):
            break
        url = f"/assessment/{token}/{step_id}"
        assert web.get(url).status_code == 200, step_id
        if step_id == "self-tests":
            data = {"nav": "tests" if do_tests else "skip"}
        else:
            data = screen_form(rules.assessment.screen(step_id), answers)
            optional = rules.assessment.screen(step_id).section.optional
            data["nav"] = "skip" if optional and not data else "next"
        response = web.post(url, data)
        assert response.status_code == 302, (step_id, response.get_data(as_text=True)[:3000])
        location = response.headers["Location"]
    else:
        raise AssertionError("the assessment never reached the contact step")
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
