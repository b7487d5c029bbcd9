"""What a runner sees after the assessment, and what the coach sees on the lead page, in
Chromium at phone and laptop widths: no sideways scroll, no axe-core violations, and the
things each persona needs (or must not get) actually on the page.

One live server for the module (the embedded default, no worker needed): the submissions
are made through the service layer, like the JSON API does, and the coach signs in through
the real sign-in form.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.assessment.personas import PERSONAS
from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import (
    VIEWPORTS,
    check_page,
    embedded_env,
    serving,
    sign_in_page,
)
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PERSONA_IDS = ("tested_and_normal", "stiff_left_ankle", "hypermobile_by_questionnaire",
               "low_energy_availability", "sore_knee", "chest_pain", "sex_unanswered_period_skipped")
BY_ID = {p.id: p for p in PERSONAS}

CTA = "Book a free strategy session"
AMBER_CHANGES = "Until you've been checked, your plan changes like this"

# What each results page must show (present) and must not show (absent), as visible text.
RESULTS_EXPECT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tested_and_normal": (("Nothing stands out — keep it that way", "Your week", CTA),
                          ("Get checked first", "Please see a clinician")),
    "stiff_left_ankle": (("Ankle dorsiflexion", "One extra set on your left side", "Your week", CTA),
                         ("Get checked first",)),
    "hypermobile_by_questionnaire": (("Your plan puts control first", "Your top priority", "Thoracic rotation",
                                      "Your week", CTA),
                                     ("Get checked first",)),
    "low_energy_availability": (("Get checked first", AMBER_CHANGES, "No fast running until you've been checked",
                                 "No load progression until you've been checked", "Your week"),
                                ("Please see a clinician",)),
    "sore_knee": (("Get checked first", AMBER_CHANGES, "skip any exercise that loads the sore area", "Your week"),
                  ("Please see a clinician",)),
    "chest_pain": (("Please see a clinician before you start a new plan", "There is no training plan on this page",
                    "Sam will contact you personally"),
                   (CTA, "Your week", "Your exercises", "Your top priorit")),
    "sex_unanswered_period_skipped": (("Your results", "Nothing stands out so far", "Your week", CTA),
                                      ("Please see a clinician",)),
}

# What the coach's lead page must show for each.
LEAD_EXPECT: dict[str, tuple[str, ...]] = {
    "tested_and_normal": ("Runner Assessment", "No safety concerns in the answers.", "Plan sent"),
    "stiff_left_ankle": ("extra set left", "left side worse"),
    "hypermobile_by_questionnaire": ("stability first",),
    "low_energy_availability": ("amber", "Plan changes:"),
    "sore_knee": ("amber", "Plan changes:"),
    "chest_pain": ("clinician first", "Clinician first: no plan was sent.", "Clinician-first call"),
    "sex_unanswered_period_skipped": ("Skipped safety question", "prefer not to say"),
}


@dataclass
class Site:
    base: str
    results: dict[str, str]  # persona id -> results path
    leads: dict[str, str]  # persona id -> lead page path
    coach_email: str


def _submit(rules, answers: dict, email: str, now):
    """Complete an assessment the way the JSON API does: clean, store, score, commit."""
    from coachapp.assessment import clean_answers
    from coachapp.emails import outbox
    from coachapp.leads.assessments import complete, save_step_all, start
    from coachapp.leads.services import Contact

    values, errors = clean_answers(rules.assessment, answers)
    assert not errors, errors
    submission = start({"utm_source": "instagram"}, now)
    save_step_all(rules, submission, values, now)
    lead = complete(rules, submission, Contact("Dana", email, True, True), now).lead
    outbox.commit()
    return submission.token, lead.id


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("results-pages")
    port = free_port()
    env = embedded_env(tmp, port, "r")
    app = app_for(env)
    migrate_up(app)
    clean_tables(app)
    results, leads = {}, {}
    with app.app_context():
        from coachapp.extensions import db
        from coachapp.models import utcnow
        from coachapp.rules_store import get_rules

        coach = coach_with_password(db, is_owner=True, email="sam@motive.example")
        coach_email = coach.email
        rules, now = get_rules(), utcnow()
        for pid in PERSONA_IDS:
            token, lead_id = _submit(rules, BY_ID[pid].answers, f"{pid}@example.com", now)
            results[pid] = f"/assessment/{token}/results"
            leads[pid] = f"/dashboard/leads/{lead_id}"
    try:
        with serving(app, port) as base:
            yield Site(base, results, leads, coach_email)
    finally:
        dispose(app)


@pytest.fixture(scope="module")
def runner_contexts(browser):
    contexts = {width: browser.new_context(**options) for width, options in VIEWPORTS.items()}
    yield contexts
    for context in contexts.values():
        context.close()


@pytest.fixture(scope="module")
def coach_contexts(browser, site):
    """One signed-in coach per width, signed in through the real form."""
    contexts = {}
    for width, options in VIEWPORTS.items():
        context = browser.new_context(**options)
        page = context.new_page()
        sign_in_page(page, site.base, site.coach_email, lands="**/dashboard/**")
        page.close()
        contexts[width] = context
    yield contexts
    for context in contexts.values():
        context.close()


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("pid", PERSONA_IDS)
def test_results_page(site, runner_contexts, pid, width):
    page = runner_contexts[width].new_page()
    try:
        response = page.goto(site.base + site.results[pid])
        assert response.status == 200
        text = page.locator("main").inner_text()
        present, absent = RESULTS_EXPECT[pid]
        for phrase in present:
            assert phrase in text, f"{pid}: the results page lacks {phrase!r}"
        for phrase in absent:
            assert phrase not in text, f"{pid}: the results page shows {phrase!r}"
        if pid == "chest_pain":
            assert page.get_by_role("link", name=CTA).count() == 0
            assert page.locator(".exercise, .week").count() == 0
        else:
            assert page.get_by_role("heading", name="Your week").is_visible()
        if BY_ID[pid].safety == "amber":
            changes = page.locator(".alert-amber ul").nth(1).locator("li")
            assert changes.count() >= 1, f"{pid}: no list of plan changes"
        check_page(page, f"results-{pid}-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("pid", PERSONA_IDS)
def test_lead_page(site, coach_contexts, pid, width):
    page = coach_contexts[width].new_page()
    try:
        response = page.goto(site.base + site.leads[pid])
        assert response.status == 200 and "/dashboard/leads/" in page.url
        text = page.locator("main").inner_text()
        for phrase in LEAD_EXPECT[pid]:
            assert phrase in text, f"{pid}: the lead page lacks {phrase!r}"
        if pid == "sex_unanswered_period_skipped":
            assert page.locator("[id^=skipped-safety-]").is_visible()
        # Every "why" and the raw answers open, as a coach preparing a call would have them.
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        check_page(page, f"lead-{pid}-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_today_is_the_call_list(site, coach_contexts, width):
    """The owner's Today with the personas' leads: clinician-first on top, nothing sideways."""
    page = coach_contexts[width].new_page()
    try:
        assert page.goto(site.base + "/dashboard/").status == 200
        text = page.locator("main").inner_text()
        assert "New — nobody has been in touch yet" in text or "Due today" in text or "Overdue" in text
        first = page.locator("article.task").first
        assert "clinician first" in first.inner_text()  # the red-flag runner comes first
        assert page.locator(".dash-nav .count").count() == 1
        check_page(page, f"today-{width}.png")
    finally:
        page.close()
