"""The coach's one-screen call-prep brief, and the prospect's "what happens next"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from coachapp.leads.priority import LeadPriority
from coachapp.models import SERVICES, AssessmentSubmission, Coach, CoachTask, Lead, StrategyRequest

METHOD_VERB = {"phone": "call", "text": "text", "email": "email"}
HISTORY = {"not_running": "not running yet", "<1": "running < 1 year", "1-2": "running 1–2 years",
           "2-5": "running 2–5 years", "5+": "running 5+ years"}
DEALING = {"pain": "something hurts", "injury": "coming back from an injury", "stalled": "training has stalled",
           "structure": "wants structure", "performance": "wants to run or move better",
           "general_health": "general health"}


def local_time(moment: datetime, tz: str) -> str:
    """'Monday, Nov 23 at 10:00 AM CST' in the given zone."""
    local = moment.astimezone(ZoneInfo(tz))
    hour = local.hour % 12 or 12
    return f"{local:%A, %b} {local.day} at {hour}:{local:%M %p %Z}"


def next_step(lead: Lead, request: StrategyRequest, coach: Coach | None, task: CoachTask | None) -> dict[str, Any]:
    method = request.answers.get("preferred_contact", "email")
    return {
        "who": coach.name.split()[0] if coach else "A coach",
        "verb": METHOD_VERB.get(method, "contact"),
        "by": local_time(task.due_at, request.time_zone) if task else None,
        "time_zone": request.time_zone,
    }


def service_fit(answers: dict[str, Any]) -> str:
    """Which offer fits what they asked for (a suggestion for the coach, not a rule)."""
    services = set(answers.get("services") or [])
    online = answers.get("delivery") == "online" or answers.get("in_area") is False
    if "kinstretch" in services:
        return "KINSTRETCH Online" if online else "KINSTRETCH classes in Austin"
    if "personal_training" in services and not online:
        return "Personal training (in person)"
    if "mobility_coaching" in services or not services - {"not_sure"}:
        return "Online mobility coaching" if online else "Mobility coaching (in person), KINSTRETCH as a follow-on"
    return "Online coaching"


def talking_points(lead: Lead, answers: dict[str, Any], result: dict[str, Any] | None,
                   weeks: float | None) -> list[str]:
    points: list[str] = []
    if lead.needs_clinician:
        points.append("Start with safety: they reported a red flag (below). Recommend seeing a clinician "
                      "before any training; no sales push today.")
    if weeks is not None and weeks >= 0:
        race = answers.get("race_name") or "their race"
        points.append(f"{race} is in about {weeks:.0f} weeks — ask how the build is going and what a "
                      "good race day looks like.")
    if "pain" in (answers.get("dealing_with") or []):
        points.append("They said something hurts — ask where, since when, and what makes it better or worse.")
    if result and result.get("priorities"):
        top = result["priorities"][0]
        points.append(f"Assessment priority #1 is {top['label'].lower()} ({top['score']}/100): offer to "
                      "re-test it together on the call.")
    if answers.get("limitations"):
        points.append("Acknowledge the limitations they wrote down, so they don't have to repeat them.")
    points.append(f"Suggest: {service_fit(answers)}.")
    return points


def build(lead: Lead, request: StrategyRequest, assessment: AssessmentSubmission | None,
          priority: LeadPriority, coach: Coach | None, task: CoachTask | None, now: datetime) -> dict[str, Any]:
    answers = request.answers
    result = assessment.result if assessment else None
    race_date = answers.get("race_date") or (assessment.answers.get("race_date") if assessment else None)
    weeks = (date.fromisoformat(race_date) - now.date()).days / 7 if race_date else None
    coach_tz = coach.time_zone if coach else request.time_zone
    return {
        "name": " ".join(filter(None, [lead.first_name, lead.last_name])),
        "email": lead.email_display,
        "phone": lead.phone,
        "time_zone": request.time_zone,
        "their_time_now": local_time(now, request.time_zone),
        "preferred_contact": METHOD_VERB.get(answers.get("preferred_contact"), "email"),
        "contact_times": answers.get("contact_times") or [],
        "goals": answers.get("goals"),
        "background": ", ".join(filter(None, [
            HISTORY.get(answers.get("running_history"), ""),
            f"{answers['weekly_km']} km/week" if answers.get("weekly_km") is not None else "",
            f"race: {answers.get('race_name') or 'yes'} on {race_date}" if race_date else "",
        ])),
        "dealing_with": [DEALING.get(d, d) for d in answers.get("dealing_with") or []],
        "limitations": answers.get("limitations"),
        "services": [SERVICES.get(s, "not sure yet") for s in answers.get("services") or []],
        "delivery": (answers.get("delivery") or "").replace("_", " "),
        "in_area": answers.get("in_area"),
        "priority": priority.to_dict(),
        "due": local_time(task.due_at, coach_tz) if task else None,
        "safety": answers.get("safety", {}),
        "needs_clinician": lead.needs_clinician,
        "assessment": None if result is None else {
            "priorities": result.get("priorities") or [],
            "flags": result.get("flags") or [],
            "safety": result.get("safety"),
        },
        "talking_points": talking_points(lead, answers, result, weeks),
        "service_fit": service_fit(answers),
    }
