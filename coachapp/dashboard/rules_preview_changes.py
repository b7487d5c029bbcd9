"""The preview's frames for what a version changes (issue 15.3), owner only: an email an owner may
reword (the plan email or a nurture email) and an assessment screen, under the live rules or the
version, for the sample runner — each answered with the frames' own sandboxing policy
(``rules_preview.frame``). The screen is ``public/screen.html`` with the context a runner's
screen gets (``public.views._render_screen``), the sample's answers filled in; its form posts nowhere
(``form-action 'none'``, no scripts)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Response, abort, render_template

from coachapp.dashboard import bp
from coachapp.dashboard.rules_preview import _sample, _sides, frame
from coachapp.leads import screens
from coachapp.models import utcnow
from coachapp.public.forms import StepForm
from coachapp.rules_preview import changed, pages
from coachapp.rules_versions import copy_text


def _side(number: int, which: str):
    found = _sides(number)
    if found is None or which not in ("live", "draft"):
        abort(404)
    return found[1][which]


@bp.get("/rules/<int:number>/preview/<which>/mail/<name>")
def rules_preview_mail(number: int, which: str, name: str) -> Response:
    """The HTML of email ``name`` under one side (its copy and its rules' result)."""
    if name not in copy_text.EMAILS:
        abort(404)
    _, version, rules = _side(number, which)
    _, _, answers = _sample()
    result = pages.result_of(rules, answers, utcnow().date())
    if not changed.qualifies(name, result):
        abort(422, description="This runner would not get this email: pick a runner with more priorities.")
    return frame(pages.sample_email(name, version, result).html)


@bp.get("/rules/<int:number>/preview/<which>/screen/<question>")
def rules_preview_screen(number: int, which: str, question: str) -> Response:
    """The assessment screen showing ``question`` under one side, the sample's answers filled in."""
    _, _, rules = _side(number, which)
    assessment = rules.assessment
    if question not in {q.id for q in assessment.questions}:
        abort(404)
    q = assessment.question(question)
    screen = assessment.screen(q.screen or q.id)
    _, _, answers = _sample()
    tests: list[str] = []
    for s in assessment.screens:  # the optional self-tests in order, by their first screen
        test = s.questions[0].test
        if s.section.optional and test and test.id not in tests:
            tests.append(test.id)
    test = screen.questions[0].test if screen.section.optional else None
    html = render_template(
        "public/screen.html", submission=SimpleNamespace(token=pages.PREVIEW_TOKEN, answers=answers), screen=screen,
        test=test, test_number=tests.index(test.id) + 1 if test and test.id in tests else 0, test_count=len(tests),
        values={k: v for k, v in answers.items() if k in {x.id for x in screen.questions}}, errors={},
        form=StepForm(), notice=None, progress=screens.progress(rules, screen.id, answers, set()))
    return frame(html)
