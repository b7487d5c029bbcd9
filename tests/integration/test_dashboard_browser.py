"""Every dashboard page in Chromium on a 390 px phone and a 1280 px laptop (issue 10, point 6):
no sideways scroll, no axe-core violations, a full-page screenshot of each in test-artifacts/,
and what "phone-first" promises actually on the page — a compact bar (Today / Leads / Pipeline)
with the rest behind a Menu on the phone and the full nav on the laptop, leads as cards with the
filters behind a button on the phone, pipeline columns stacked on the phone.

One live server for the module (the embedded default, no worker needed). The data is made
through the service layer, like the forms do: a realistic day with leads of several tiers, a
clinician-first runner, long names and addresses, a lead with an assessment, a strategy request,
emails, tasks and notes, and a failed email. The owner signs in through the real sign-in form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.assessment.personas import PERSONAS
from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers import CHEST_PAIN, DESK_ACHILLES
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import (
    ARTIFACTS,
    OWNER_EMAIL,
    VIEWPORTS,
    check_page,
    embedded_env,
    serving,
    sign_in_page,
)
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

BY_ID = {p.id: p for p in PERSONAS}

LONG_NAME = ("Maximiliana", "Featherstonehaugh-Okonkwo")
LONG_EMAIL = "maximiliana.featherstonehaugh-okonkwo.trailrunning@extremely-long-running-club-domain.example.com"
NOTE = "Called at lunch, left a voicemail. She prefers texts after 6 pm; ask about the left Achilles."
SMTP_ERROR = ("SMTPRecipientsRefused: {'dana.whitfield@example.com': (550, b'5.1.1 <dana.whitfield@example.com>: "
              "Recipient address rejected: User unknown in virtual mailbox table')}")
TODAY_SECTIONS = ("Overdue", "Due today", "New — nobody has been in touch yet", "Later this week")
MENU_LINKS = ("Insights", "Outbox", "Coaches")


@dataclass
class Site:
    base: str
    app: object
    lead_id: int  # the one with an assessment, a strategy request, emails, tasks and notes
    failed_message_id: int
    lead_count: int


def _seed() -> tuple[int, int, int]:
    """A coaching business on an ordinary weekday; returns (full lead id, failed email id, lead count)."""
    from sqlalchemy import func, select

    from coachapp.emails import outbox
    from coachapp.extensions import db
    from coachapp.leads import actions
    from coachapp.leads.assessments import complete, save_step_all, start
    from coachapp.leads.intake import StrategyIntake, submit
    from coachapp.leads.services import Contact
    from coachapp.leads.worktime import end_of_local_day
    from coachapp.models import CoachTask, Lead, OutboxMessage, utcnow
    from coachapp.rules_store import get_rules

    rules, now = get_rules(), utcnow()
    owner = coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True,
                                time_zone="America/Denver")
    alexandra = coach_with_password(db, name="Alexandra Konstantinidou-Whitfield",
                        email="alexandra.konstantinidou-whitfield@motive-training.example",
                        services=["kinstretch", "online_coaching"], in_person=False)
    coach_with_password(db, name="Sam Ortega", email="sam@motive-training.example", active=False)

    def assessed(answers: dict, first: str, email: str, source: str):
        submission = start({"utm_source": source}, now)
        save_step_all(rules, submission, answers, now)
        return submission, complete(rules, submission, Contact(first, email, True, True), now).lead

    def requested(first: str, email: str, goals: str, source: str = "google", **extra):
        values = dict(first_name=first, email=email, goals=goals, running_history="2-5",
                      services=["mobility_coaching"], delivery="in_person", preferred_contact="phone",
                      phone="(512) 555-0143", time_zone="America/Chicago", start_timing="asap")
        values.update(extra)
        return submit(rules, StrategyIntake(**values), {"utm_source": source}, now).lead

    def task_of(lead: Lead) -> CoachTask:
        return db.session.execute(select(CoachTask).where(CoachTask.lead_id == lead.id, CoachTask.status == "open")
                                  .order_by(CoachTask.id.desc())).scalars().first()

    def mine(lead: Lead) -> None:
        if lead.owner_id != owner.id:
            actions.assign(rules, lead, owner.id, owner, now)

    # Dana: the assessment, then the strategy session from her results; a note; a failed email. Overdue.
    submission, dana = assessed(DESK_ACHILLES, "Dana", "dana.whitfield@example.com", "instagram")
    dana = requested("Dana", "dana.whitfield@example.com", last_name="Whitfield", assessment_token=submission.token,
                     goals="Run the Austin Marathon in February without my Achilles flaring up at mile 18.",
                     dealing_with=["pain", "structure"], contact_times=["evenings"], weekly_km=45,
                     race_name="Austin Marathon", limitations="Left Achilles stiff in the mornings.")
    mine(dana)
    actions.add_note(dana, NOTE, owner, now)
    task_of(dana).due_at = now - timedelta(hours=26)
    failed = db.session.execute(select(OutboxMessage).where(OutboxMessage.lead_id == dana.id)
                                .order_by(OutboxMessage.id)).scalars().first()
    failed.status, failed.attempts, failed.last_error = "failed", 5, SMTP_ERROR

    # Rory: chest pain on exertion — clinician first, new and untouched (on top of "New").
    _, rory = assessed({**CHEST_PAIN, "age_band": "60-69"}, "Rory", "rory.mcallister@example.com", "facebook")
    mine(rory)
    task_of(rory).due_at = now + timedelta(days=2)  # whatever the hour: on "New", not "Due today"

    # A long name and a very long address, due later today.
    long_lead = requested(LONG_NAME[0], LONG_EMAIL, last_name=LONG_NAME[1], source="strava",
                          goals="Finish my first 50 km trail race in the Hill Country without my knees giving out.")
    mine(long_lead)
    end_today = end_of_local_day(now, owner.time_zone)
    task_of(long_lead).due_at = now + min(timedelta(hours=2), (end_today - now) / 2)

    # Touched already (a note), the next call later this week.
    jo = requested("Jo", "jo.nakamura@example.com", last_name="Nakamura", delivery="online",
                   goals="Get back to 5 km after a calf strain.", services=["online_coaching"])
    mine(jo)
    actions.add_note(jo, "Spoke on Monday; wants to start after her holiday.", owner, now)
    task_of(jo).due_at = now + timedelta(days=3)

    # Assessment-only leads of other tiers, spread over the pipeline.
    stages = {"tested_and_normal": "contacted", "hypermobile_by_questionnaire": "session_booked",
              "sore_knee": "new", "first_marathon_no_strength": "client", "low_energy_availability": "nurture",
              "old_hamstring_runs_by_count": "lost", "new_runner_untested": "session_held"}
    names = {"tested_and_normal": "Chris", "hypermobile_by_questionnaire": "Priya", "sore_knee": "Tomás",
             "first_marathon_no_strength": "Oluwaseun", "low_energy_availability": "Hannah",
             "old_hamstring_runs_by_count": "Mark", "new_runner_untested": "Aiyana"}
    for pid, stage in stages.items():
        _, lead = assessed(BY_ID[pid].answers, names[pid], f"{names[pid].lower()}.{pid.replace('_', '-')}@example.com",
                           "google" if len(pid) % 2 else "newsletter")
        if stage != "new":
            actions.change_stage(rules, lead, stage, owner, now)
        if pid in ("hypermobile_by_questionnaire", "low_energy_availability"):  # a long owner name in the list
            actions.assign(rules, lead, alexandra.id, owner, now)
    outbox.commit()
    count = db.session.execute(select(func.count()).select_from(Lead)).scalar_one()
    return dana.id, failed.id, count


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard-pages")
    port = free_port()
    app = app_for(embedded_env(tmp, port, "d"))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        lead_id, failed_id, count = _seed()
    try:
        with serving(app, port) as base:
            yield Site(base, app, lead_id, failed_id, count)
    finally:
        dispose(app)


@pytest.fixture(scope="module")
def contexts(browser, site):
    """Per width: an anonymous context (the sign-in page) and the owner, signed in through the form."""
    made = {}
    for width, options in VIEWPORTS.items():
        anonymous, owner = browser.new_context(**options), browser.new_context(**options)
        for context in (anonymous, owner):
            context.set_default_timeout(10_000)  # a missing element fails fast
        page = owner.new_page()
        sign_in_page(page, site.base, OWNER_EMAIL)
        page.close()
        made[width] = {"anonymous": anonymous, "owner": owner}
    yield made
    for pair in made.values():
        for context in pair.values():
            context.close()


def _first_screen(page, shot: str) -> None:
    """What fits on the screen without scrolling (the README shows some of these)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot))


def _open(site, contexts, width: int, path: str, who: str = "owner"):
    page = contexts[width][who].new_page()
    response = page.goto(site.base + path)
    assert response.status == 200, f"{path}: {response.status}"
    return page


def _check_nav(page, width: int) -> None:
    """The compact bar on the phone, the full nav on the laptop; the waiting count on Today."""
    nav = page.get_by_role("navigation", name="Dashboard")
    for label in ("Today", "Leads", "Pipeline"):
        assert nav.get_by_role("link", name=label).first.is_visible(), f"{label} is not in the bar"
    assert nav.locator("a.nav-today .count").is_visible(), "no waiting count on Today"
    menu = nav.locator("details.nav-menu")
    if width < 720:
        assert menu.is_visible() and menu.get_attribute("open") is None
        for label in MENU_LINKS:
            assert not nav.get_by_role("link", name=label, exact=True).is_visible(), f"{label} shows outside the menu"
        box = page.locator(".dash-header").bounding_box()
        assert box["height"] <= 64, f"the phone bar is {box['height']}px tall"
    else:
        assert not menu.is_visible()
        for label in MENU_LINKS:
            assert nav.get_by_role("link", name=label, exact=True).is_visible(), f"{label} missing from the nav"
        assert page.get_by_role("button", name="Sign out").is_visible()


# --- the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", VIEWPORTS)
def test_sign_in(site, contexts, width):
    page = _open(site, contexts, width, "/auth/login", who="anonymous")
    try:
        email, password = page.get_by_label("Email"), page.get_by_label("Password")
        button = page.get_by_role("button", name="Sign in")
        # The password field looks like the email field (the app's form styles), not a bare native input.
        styles = page.evaluate("""() => ['#email', '#password'].map(s => {
            const c = getComputedStyle(document.querySelector(s));
            return [c.minHeight, c.borderRadius, c.fontSize, document.querySelector(s).offsetWidth]; })""")
        assert styles[0] == styles[1], f"email and password fields differ: {styles}"
        assert styles[1][0] == "48px", f"the password field is not the app's input: {styles[1]}"
        assert button.bounding_box()["height"] >= 48
        check_page(page, f"dashboard-sign-in-{width}.png")
        email.fill(OWNER_EMAIL)
        password.fill("not-the-password")
        with page.expect_navigation():
            button.click()
        assert page.get_by_text("That email and password don't match").is_visible()
        check_page(page, f"dashboard-sign-in-error-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_today(site, contexts, width):
    page = _open(site, contexts, width, "/dashboard/")
    try:
        for heading in TODAY_SECTIONS:
            assert page.get_by_role("heading", name=heading, level=2).is_visible(), f"Today lacks {heading!r}"
        first_new = page.locator("section[aria-labelledby=h-new] article.task").first
        assert "clinician first" in first_new.inner_text()  # the red-flag runner on top of "New"
        assert page.get_by_role("link", name=" ".join(LONG_NAME)).is_visible()
        _check_nav(page, width)
        _first_screen(page, f"dashboard-today-{width}-first-screen.png")
        check_page(page, f"dashboard-today-{width}.png")
    finally:
        page.close()


def test_menu_on_a_phone(site, contexts):
    """The phone's Menu (a <details>, no script) holds the rest of the nav and the sign-out;
    the laptop has no menu (every link shows: _check_nav)."""
    width = 390
    page = _open(site, contexts, width, "/dashboard/pipeline")
    try:
        nav = page.get_by_role("navigation", name="Dashboard")
        nav.locator("details.nav-menu > summary").click()
        for label in MENU_LINKS:
            assert nav.get_by_role("link", name=label, exact=True).is_visible(), f"{label} not in the open menu"
        assert page.get_by_role("button", name="Sign out").is_visible()
        _first_screen(page, f"dashboard-menu-{width}-first-screen.png")
        check_page(page, f"dashboard-menu-{width}.png")
        nav.get_by_role("link", name="Outbox", exact=True).click()
        page.wait_for_url("**/dashboard/outbox")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_leads_list(site, contexts, width):
    page = _open(site, contexts, width, "/dashboard/leads")
    try:
        rows = page.locator("[data-lead]")
        assert rows.count() == site.lead_count
        search = page.get_by_label("Search")
        if width < 720:
            assert not search.is_visible(), "the filters should start closed on a phone"
            card = page.locator("[data-lead]").first.bounding_box()
            assert card["width"] > 300, "a lead on a phone should be a full-width card"
            _first_screen(page, f"dashboard-leads-{width}-first-screen.png")
            page.get_by_text("Filters", exact=True).click()
        assert search.is_visible()
        _check_nav(page, width)
        check_page(page, f"dashboard-leads-{width}.png")
        # Filtered: a red flag only, the filters open with the count of active ones.
        page.get_by_label("Red flag").select_option("yes")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**red=yes**")
        assert rows.count() == 1 and "Rory" in rows.first.inner_text()
        check_page(page, f"dashboard-leads-filtered-{width}.png", run_axe=False)  # the same markup, filled in
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_lead_page(site, contexts, width):
    page = _open(site, contexts, width, f"/dashboard/leads/{site.lead_id}")
    try:
        text = page.locator("main").inner_text()
        for phrase in ("Dana", "Achilles flaring up", NOTE, "Ankle dorsiflexion"):
            assert phrase in text, f"the lead page lacks {phrase!r}"
        page.evaluate("document.querySelectorAll('main details').forEach(d => { d.open = true; })")
        check_page(page, f"dashboard-lead-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_pipeline(site, contexts, width):
    page = _open(site, contexts, width, "/dashboard/pipeline")
    try:
        columns = page.locator(".board .column")
        assert columns.count() >= 6
        boxes = [columns.nth(i).bounding_box() for i in range(columns.count())]
        if width < 720:
            assert len({round(b["x"]) for b in boxes}) == 1, "the stages should stack on a phone"
        else:
            assert len({round(b["x"]) for b in boxes}) > 1, "the stages should sit side by side on a laptop"
        _check_nav(page, width)
        _first_screen(page, f"dashboard-pipeline-{width}-first-screen.png")
        check_page(page, f"dashboard-pipeline-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_outbox(site, contexts, width):
    page = _open(site, contexts, width, "/dashboard/outbox")
    try:
        assert "User unknown" in page.locator("main").inner_text()
        check_page(page, f"dashboard-outbox-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_outbox_message(site, contexts, width):
    path = f"/dashboard/outbox/{site.failed_message_id}"
    page = _open(site, contexts, width, path)
    try:
        assert "User unknown" in page.locator("main").inner_text()
        check_page(page, f"dashboard-outbox-message-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_insights(site, contexts, width):
    page = _open(site, contexts, width, "/dashboard/insights")
    try:
        assert page.get_by_role("heading", name="Funnel").is_visible()
        check_page(page, f"dashboard-insights-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_coaches(site, contexts, width):
    page = _open(site, contexts, width, "/dashboard/coaches")
    try:
        assert "Alexandra Konstantinidou-Whitfield" in page.locator("main").inner_text()
        check_page(page, f"dashboard-coaches-{width}.png")
    finally:
        page.close()
