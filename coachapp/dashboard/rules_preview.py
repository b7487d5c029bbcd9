"""Preview a version (issue 15.3), owner only: for a sample runner, the results page and the
plan email (subject, text and HTML) as the live rules and the version render them, side by side;
above them, what the version changes (``rules_preview.changed``): each area, every email whose copy
differs and each assessment screen whose texts changed, rendered under both
(frames: ``rules_preview_changes``); unchanged ones are listed, not rendered.

The rendered pages are never put into the dashboard page: each is framed from its own route,
which answers with its own policy — no scripts, styles and images from the app only, an opaque
origin (CSP ``sandbox``), framable only by the app — as the outbox does for email HTML.
The sample picker is a GET form: it changes nothing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response, abort, render_template, request, url_for

from coachapp.assessment import Rules
from coachapp.dashboard import bp
from coachapp.dashboard.rules_replay_views import missing_version
from coachapp.models import RulesVersion, utcnow
from coachapp.public.forms import StartForm
from coachapp.rules_preview import changed, pages, samples
from coachapp.rules_preview.replay import live_label_and_rules
from coachapp.rules_versions import services

FRAME_CSP = "; ".join([
    "default-src 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "sandbox allow-popups allow-popups-to-escape-sandbox",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    "form-action 'none'",
])


def _sides(number: int) -> tuple[RulesVersion, dict[str, tuple[str, RulesVersion | None, Rules]]] | None:
    """The version and {"live": (label, version, rules), "draft": (…)}; None: no such version;
    a version that does not load is a 422 page."""
    version = services.by_number(number)
    if version is None:
        return None
    if services.problems(version):
        abort(422, description=f"{version.label} does not load; fix its problems first.")
    live_label, live_rules = live_label_and_rules()
    return version, {"live": (live_label, services.live_version(), live_rules),
                     "draft": (version.label, version, services.load(version))}


def _sample() -> tuple[str, str, dict[str, Any]]:
    key = request.args.get("sample") or f"persona:{samples.DEFAULT}"
    found = samples.sample_answers(key, utcnow().date())
    if found is None:
        key = f"persona:{samples.DEFAULT}"
        found = samples.sample_answers(key, utcnow().date())
    return key, *found


@bp.get("/rules/<int:number>/preview")
def rules_preview(number: int) -> str | tuple[str, int]:
    found = _sides(number)
    if found is None:
        return missing_version(number)
    version, sides = found
    key, label, answers = _sample()
    today = utcnow().date()
    emails = {}
    for which, (_, side_version, rules) in sides.items():
        template, rendered = pages.plan_email(side_version, pages.result_of(rules, answers, today))
        emails[which] = (template, rendered)
    same = {"subject": emails["live"][1].subject == emails["draft"][1].subject,
            "text": emails["live"][1].text == emails["draft"][1].text,
            "html": emails["live"][1].html == emails["draft"][1].html}
    unknown = request.args.get("sample") not in (None, "", key)
    what = changed.what_changed(sides["live"][1], version, {k: v[2] for k, v in sides.items()}, answers, today)
    return render_template("dashboard/rules_preview.html", version=version, sides=sides, emails=emails,
                           same=same, sample=key, label=label, personas=samples.PERSONAS, what=what,
                           recent=samples.recent_submissions(), unknown=unknown), (404 if unknown else 200)


@bp.get("/rules/<int:number>/preview/<which>/<what>")
def rules_preview_frame(number: int, which: str, what: str) -> Response:
    """The results page or the plan email's HTML under one side, for the preview's frames."""
    found = _sides(number)
    if found is None or which not in ("live", "draft") or what not in ("results", "email"):
        abort(404)
    _, sides = found
    _, side_version, rules = sides[which]
    _, _, answers = _sample()
    result = pages.result_of(rules, answers, utcnow().date())
    if what == "email":
        html = pages.plan_email(side_version, result)[1].html
    else:
        submission = SimpleNamespace(token=pages.PREVIEW_TOKEN, lead_id=None, result=result, completed=True,
                                     status="completed", answers=answers)
        html = render_template("public/results.html", submission=submission, result=result,
                               strategy_url=url_for("public.strategy_session", from_assessment=pages.PREVIEW_TOKEN),
                               coach_name=None, untested=[r["test_name"] for r in result["regions"]
                                                          if r.get("finding") is None and r.get("test_name")],
                               start_form=StartForm(), newer=None)
    return frame(html)


def frame(html: str) -> Response:
    """A rendered page or email for a preview frame, with the frame's own sandboxing policy."""
    return Response(html, headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": FRAME_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    })
