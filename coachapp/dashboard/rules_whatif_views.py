"""What if (issue 15.3), owner only: a sample runner (a built-in persona or a stored
submission) or answers typed into the form, scored under the live rules and under a version
(any version that is not live), side by side: safety (level and the red/amber rules that
fired), priorities with scores, risk flags, the plan's exercises per block and the lead tier —
every difference stated in words. Scoring is ``rules_preview.outcomes`` (no database). CSRF on
the form."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm

from coachapp.assessment import Rules, clean_answers
from coachapp.dashboard import bp
from coachapp.dashboard.rules_replay_views import missing_version
from coachapp.models import RulesVersion, utcnow
from coachapp.rules_preview import samples
from coachapp.rules_preview.outcomes import CATEGORY_LABELS, differences, outcome
from coachapp.rules_preview.replay import live_label_and_rules
from coachapp.rules_versions import services

#: the question types the form offers (text answers are not scored)
FORM_TYPES = ("single_select", "boolean", "number", "integer", "slider", "multi_select", "checklist", "date")


class WhatIfForm(FlaskForm):
    pass


def version_rules(number: int) -> tuple[RulesVersion | None, Rules | None, list[str]]:
    """(version, its rules, problems): rules None when there is no such version or it does not load."""
    version = services.by_number(number)
    if version is None:
        return None, None, []
    problems = services.problems(version)
    return version, (None if problems else services.load(version)), problems


def form_answers(rules: Rules) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers typed into the form, cleaned by the draft's questions (values, errors by id)."""
    raw: dict[str, Any] = {}
    for q in rules.assessment.questions:
        if q.type in ("multi_select", "checklist"):
            if f"present.{q.id}" in request.form:
                raw[q.id] = request.form.getlist(f"a.{q.id}")
        elif q.type in FORM_TYPES:
            value = request.form.get(f"a.{q.id}", "").strip()
            if value:
                raw[q.id] = value
    values, errors = clean_answers(rules.assessment, raw)
    return values, {k: v for k, v in errors.items() if k in raw or k.startswith("_")}


@bp.route("/rules/<int:number>/whatif", methods=["GET", "POST"])
def rules_whatif(number: int) -> tuple[str, int]:
    version, draft, problems = version_rules(number)
    if version is None:
        return missing_version(number)
    form = WhatIfForm()
    today = utcnow().date()
    live_label, live = live_label_and_rules()
    status, errors, note = 200, {}, ""
    sample = request.form.get("sample") or request.args.get("sample") or f"persona:{samples.DEFAULT}"
    if draft is None:
        return _render(version, form, live_label, problems=problems, sample=sample), 422
    if request.method == "POST" and not form.validate_on_submit():
        status, note = 400, "The form expired; the sample is shown again. Try once more."
    if request.method == "POST" and status == 200 and request.form.get("action") == "compare":
        answers, errors = form_answers(draft)
        label = "The answers in the form"
        if errors:
            status = 422
    else:
        found = samples.sample_answers(sample, today)
        if found is None:
            status, note = 404, f"No sample {sample!r}: showing the default persona."
            sample = f"persona:{samples.DEFAULT}"
            found = samples.sample_answers(sample, today)
        label, answers = found
    before, after = outcome(live, answers, today), outcome(draft, answers, today)
    return _render(version, form, live_label, sample=sample, label=label, answers=answers, errors=errors,
                   note=note, draft_rules=draft, before=before, after=after,
                   diffs=differences(before, after), today=today), status


def _render(version: RulesVersion, form: WhatIfForm, live_label: str, **context: Any) -> str:
    context.setdefault("problems", [])
    return render_template("dashboard/rules_whatif.html", version=version, form=form, live_label=live_label,
                           personas=samples.PERSONAS, recent=samples.recent_submissions(),
                           form_types=FORM_TYPES, labels=CATEGORY_LABELS, iso=date.isoformat, **context)
