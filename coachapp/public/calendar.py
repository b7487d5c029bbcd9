"""The weekly plan in the runner's calendar app: a download per assessment, and a feed per lead.

``GET /assessment/<token>/plan.ics`` downloads that assessment's plan (METHOD:PUBLISH; importing
it again updates the same events). ``GET /calendar/<signed>.ics`` is the subscribable feed: the
signed token names the lead, and the feed always serves the lead's latest completed assessment,
so a retake updates every subscriber (and a red-flag retake empties the calendar: clinician
first). No rate limit, like the other public GETs: calendar services poll feeds from shared
addresses, the tokens are unguessable, and responses carry an ETag.

Templates and emails link to them with ``plan_download_url(token)``, ``subscribe_urls(lead_id)``
or the template global ``plan_calendar_links(submission)``.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import abort, current_app, request
from werkzeug.wrappers import Response

from coachapp.extensions import db
from coachapp.leads.assessments import by_token
from coachapp.leads.triage import latest_assessment
from coachapp.links import calendar_serializer, external_url, plan_download_url, subscribe_urls
from coachapp.models import AssessmentSubmission, Lead
from coachapp.plan_calendar import plan_calendar, plan_end, plan_start
from coachapp.public import bp
from coachapp.public.signed import lead_for
from coachapp.rules_store import get_rules

FEED_REFRESH = timedelta(hours=6)  # what the feed suggests to calendar apps
FEED_MAX_AGE = 15 * 60  # seconds; short, so a retake reaches subscribers soon
FILENAME = "running-mobility-plan.ics"


@bp.app_template_global()
def plan_calendar_links(submission: AssessmentSubmission) -> dict[str, str] | None:
    """``{"download", "subscribe", "webcal"}`` for a completed assessment with a plan, else None."""
    if not _has_plan(submission) or submission.lead_id is None:
        return None
    feed = subscribe_urls(submission.lead_id)
    return {"download": plan_download_url(submission.token), "subscribe": feed.https, "webcal": feed.webcal}


@bp.get("/assessment/<token>/plan.ics")
def plan_ics(token: str) -> Response:
    submission = by_token(token)
    if not _has_plan(submission):
        abort(404)
    lead = db.session.get(Lead, submission.lead_id)
    if lead is None:
        abort(404)
    response = _ics(_document(submission, lead, feed=False))
    response.headers["Content-Disposition"] = f'attachment; filename="{FILENAME}"'
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.get("/calendar/<signed>.ics")
def plan_feed(signed: str) -> Response:
    lead = _lead_for(signed)
    submission = latest_assessment(lead.id)
    if submission is None:
        abort(404)
    response = _ics(_document(submission, lead, feed=True))
    response.cache_control.max_age = FEED_MAX_AGE
    return response.make_conditional(request)


def _document(submission: AssessmentSubmission, lead: Lead, *, feed: bool) -> bytes:
    config = current_app.config
    zone = _zone(lead.time_zone) or _zone(config["DEFAULT_TIME_ZONE"]) or "UTC"
    plan = (submission.result or {}).get("plan")
    start = plan_start(submission.completed_at, zone)
    end = plan_end(start, plan, race_day=_date(submission.answers.get("race_date")),
                   phase_from_weeks={phase.id: phase.lo for phase in get_rules().schedule.phases})
    return plan_calendar(
        plan,
        uid=submission.token,
        host=urlsplit(config["BASE_URL"]).hostname or "localhost",
        zone=zone,
        start=start,
        end=end,
        results_url=external_url("public.results", token=submission.token),
        stamp=submission.completed_at,
        name=f"{config['BUSINESS_NAME']}: running mobility plan",
        method=None if feed else "PUBLISH",
        refresh=FEED_REFRESH if feed else None,
    ).to_ical()


def _ics(body: bytes) -> Response:
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.cache_control.private = True
    response.add_etag()
    return response


def _has_plan(submission: AssessmentSubmission | None) -> bool:
    return bool(submission and submission.completed and (submission.result or {}).get("plan"))


def _lead_for(signed: str) -> Lead:
    return lead_for(calendar_serializer(), signed)


def _zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None
    return name


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
