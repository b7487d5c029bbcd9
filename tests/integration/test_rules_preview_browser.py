"""See before you publish (issue 15.3) in Chromium at 390 px and 1280 px: the what-if page
(side by side, differences in words), a finished replay (counts and the changed runners) and
the preview (email and results page framed); no sideways scroll, no axe-core violations, a
full-page screenshot of each in test-artifacts/."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.helpers_dashboard import coach_with_password
from tests.helpers_replay import store_submissions, threshold_draft
from tests.integration.browser_kit import (
    OWNER_EMAIL,
    VIEWPORTS,
    check_page,
    live_site,
    open_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@dataclass
class Site:
    base: str
    app: object
    run_id: int


def _seed(tmp) -> int:
    from coachapp import rules_store
    from coachapp.extensions import db
    from coachapp.rules_preview import replay

    owner = coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True, time_zone="America/Denver")
    store_submissions(rules_store.files_rules(), 250, seed=5)
    draft = threshold_draft(tmp)
    run = replay.start(draft, 1000, owner)
    db.session.commit()
    replay.run(run.id)
    return run.id


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rules-preview")
    with live_site(tmp, "rp", lambda: _seed(tmp)) as (base, app, seeded):
        yield Site(base, app, seeded)


def _open(site, owner, width: int, path: str):
    return open_page(owner, site.base, width, path)


@pytest.mark.parametrize("width", VIEWPORTS)
def test_what_if(site, owner, width):
    page = _open(site, owner, width, "/dashboard/rules/1")
    try:
        page.get_by_role("link", name="What if…").click()
        page.wait_for_url("**/dashboard/rules/1/whatif")
        assert page.locator("#differences").get_by_text("Top priority: Ankle dorsiflexion under live").is_visible()
        check_page(page, f"dashboard-rules-whatif-{width}.png")
        page.get_by_label("Runner").select_option("persona:sore_knee")
        with page.expect_navigation():
            page.get_by_role("button", name="Show this runner").click()
        assert page.get_by_text("No difference:").is_visible()
        page.get_by_text("Change the answers", exact=True).click()
        check_page(page, f"dashboard-rules-whatif-answers-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_replay_result(site, owner, width):
    page = _open(site, owner, width, "/dashboard/rules/1/replay")
    try:
        assert page.get_by_role("button", name="Replay").is_visible()
        check_page(page, f"dashboard-rules-replays-{width}.png")
        page.get_by_role("link", name=f"Replay #{site.run_id}").click()
        page.wait_for_url(f"**/dashboard/rules/replays/{site.run_id}")
        assert page.get_by_role("heading", name="What would change").is_visible()
        assert page.locator("#changed-runners tbody tr").count() > 0
        check_page(page, f"dashboard-rules-replay-{width}.png")
    finally:
        page.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_preview(site, owner, width):
    page = _open(site, owner, width, "/dashboard/rules/1/preview")
    try:
        assert page.get_by_text("Differs:").is_visible()
        frame = page.frame_locator("#email-draft iframe")
        assert frame.locator("body").is_visible()
        for which in ("live", "draft"):  # the results page under each, rendered in its frame
            results = page.frame_locator(f"#results-{which} iframe")
            assert results.get_by_text("Your runner assessment", exact=False).first.is_visible()
        assert "Ankle dorsiflexion" in page.frame_locator("#results-live iframe").locator("body").inner_text()
        check_page(page, f"dashboard-rules-preview-{width}.png", frames=True)
    finally:
        page.close()


def test_a_running_replay_updates_its_count_in_place(site, owner):
    """static/progress.js (shared with the CSV import): the page polls progress.json, puts the
    count into place as the worker moves on, and reloads once the run is done."""
    from playwright.sync_api import expect

    from coachapp.extensions import db
    from coachapp.models import RulesReplay

    with site.app.app_context():
        run = db.session.get(RulesReplay, site.run_id)
        kept = {"status": run.status, "done": run.done}
        run.status, run.done = "running", 10
        db.session.commit()
    page = _open(site, owner, 1280, f"/dashboard/rules/replays/{site.run_id}")
    try:
        assert page.locator("#done").inner_text() == "10"
        with site.app.app_context():
            db.session.get(RulesReplay, site.run_id).done = 120
            db.session.commit()
        expect(page.locator("#done")).to_have_text("120", timeout=10_000)  # polled (a string to eval is CSP-blocked)
        assert page.locator("#bar").evaluate("bar => bar.value") == 120
        with site.app.app_context():
            run = db.session.get(RulesReplay, site.run_id)
            run.status, run.done = kept["status"], kept["done"]
            db.session.commit()
        page.get_by_role("heading", name="Replay finished").wait_for(timeout=10_000)  # reloaded once done
    finally:
        page.close()


def test_a_failed_progress_reply_is_asked_again(site, owner):
    """One 503 from progress.json (a worker restarting behind the proxy, a rate limit) does not stop
    the page: it asks again and still shows the count and the outcome."""
    from playwright.sync_api import expect

    from coachapp.extensions import db
    from coachapp.models import RulesReplay

    with site.app.app_context():
        run = db.session.get(RulesReplay, site.run_id)
        kept = {"status": run.status, "done": run.done}
        run.status, run.done = "running", 10
        db.session.commit()
    failed: list[str] = []

    def first_fails(route) -> None:
        if not failed:
            failed.append(route.request.url)
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    context = owner[1280]
    context.route("**/progress.json", first_fails)
    page = _open(site, owner, 1280, f"/dashboard/rules/replays/{site.run_id}")
    try:
        with site.app.app_context():
            db.session.get(RulesReplay, site.run_id).done = 77
            db.session.commit()
        expect(page.locator("#done")).to_have_text("77", timeout=15_000)
        assert failed, "the first reply was a 503"
        with site.app.app_context():
            run = db.session.get(RulesReplay, site.run_id)
            run.status, run.done = kept["status"], kept["done"]
            db.session.commit()
        page.get_by_role("heading", name="Replay finished").wait_for(timeout=15_000)
    finally:
        context.unroute("**/progress.json")
        page.close()
