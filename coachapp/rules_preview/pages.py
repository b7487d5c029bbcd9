"""What a runner would get from a rule set: the result (``evaluate``) and the plan email, for the
preview (issue 15.3). The email goes through the one renderer every email uses
(``emails.messages.render``); ``plan_email`` is the single place that knows which version is
previewed, so a renderer that takes a version's copy overrides needs one line here."""

from __future__ import annotations

from datetime import date
from typing import Any

from coachapp.assessment import Rules, evaluate
from coachapp.emails.messages import Rendered, render
from coachapp.links import external_url
from coachapp.models import RulesVersion

PREVIEW_TOKEN = "preview"  # nosec B105  # not a secret: the sample's links point at a token no submission has
FIRST_NAME = "Sam"


def result_of(rules: Rules, answers: dict[str, Any], today: date) -> dict[str, Any]:
    return evaluate(rules, answers, today).to_dict()


def plan_email(version: RulesVersion | None, result: dict[str, Any]) -> tuple[str, Rendered]:
    """(template, rendered) of the email a runner with ``result`` gets under ``version`` (None:
    the shipped files) — the plan email, or the see-a-clinician email on a red flag."""
    red = result["safety"]["level"] == "red"
    links = {} if red or not result.get("plan") else {
        "strategy_url": external_url("public.strategy_session", from_assessment=PREVIEW_TOKEN),
        "calendar_url": external_url("public.plan_ics", token=PREVIEW_TOKEN),
        "subscribe_url": None,
    }
    template = "assessment_clinician" if red else "assessment_plan"
    return template, render(template, copy_from=dict(version.copy or {}) if version else {},
                            first_name=FIRST_NAME, result=result, coach_name=None,
                            results_url=external_url("public.results", token=PREVIEW_TOKEN), **links)
