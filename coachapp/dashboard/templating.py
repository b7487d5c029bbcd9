"""Dashboard template helpers: times in the signed-in coach's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_login import current_user

from coachapp.dashboard import bp


@bp.app_template_filter("coach_time")
def coach_time(moment: datetime | None) -> str:
    """'Mon 23 Nov 10:00' in the signed-in coach's time zone (UTC when signed out)."""
    if moment is None:
        return ""
    tz = getattr(current_user, "time_zone", None) or "UTC"
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


@bp.context_processor
def nav_counts() -> dict[str, object]:
    """How many leads wait on Today, for the nav (one statement per dashboard page)."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    from coachapp.dashboard.today import WAITING_CAP, waiting_count
    from coachapp.models import utcnow

    return {"waiting_count": waiting_count(current_user, utcnow()), "waiting_cap": WAITING_CAP}


@bp.app_template_global()
def answer_rows(answers: dict) -> list[tuple[str, str]]:
    """A submission's answers as the runner saw them: question text and option labels, in
    question order (an answer to a question the rules no longer have keeps its raw id)."""
    from coachapp.rules_store import get_rules

    assessment = get_rules().assessment
    known = {q.id: q for q in assessment.questions}
    rows = []
    for qid in [q.id for q in assessment.questions if q.id in answers] + [k for k in answers if k not in known]:
        question, value = known.get(qid), answers[qid]
        labels = {o.value: o.label for o in question.choices} if question else {}
        if isinstance(value, list):
            shown = ", ".join(labels.get(v, str(v)) for v in value) or "none ticked"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        else:
            shown = labels.get(value, str(value)) + (f" {question.unit}" if question and question.unit else "")
        rows.append((question.text if question else qid, shown))
    return rows
