"""The import pages and the merge pages in Chromium at 390 px and 1280 px: no sideways scroll,
no axe-core violations, full-page screenshots in test-artifacts/ (like test_dashboard_browser).

The owner uploads a file through the real form (Excel's semicolons, a long address, a bad row),
checks the mapping, runs the dry run, starts the import; the import itself is run by calling
``importer.run`` (the task's body: this live server has no worker), then the finished page is
checked. Then the owner merges two leads from the lead page: search, side by side, confirm.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import clean_tables, dispose, free_port, migrate_up
from tests.helpers_dashboard import coach_with_password
from tests.integration.browser_kit import DESKTOP, OWNER_EMAIL, PHONE, check_page, embedded_env, serving, sign_in_page
from tests.integration.conftest import app_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LONG_EMAIL = "maximiliana.featherstonehaugh-okonkwo.trailrunning@extremely-long-running-club-domain.example.com"
CSV = ("E-mail;First name;Last name;Phone;Stage;Opted in;Opt-in date;Notes;Tags\n"
       f"{LONG_EMAIL};Maximiliana;Featherstonehaugh-Okonkwo;+1 512 555 0143;contacted;yes;2025-03-01;"
       "Met at the trail 50k, wants help with a cranky left Achilles before the spring season;trail, 50k\n"
       "dana@example.com;Dana;Whitfield;;new;;;;\n"
       "not-an-address;Bob;;;;;;;\n"
       "DANA@example.com;Dana;;;;;;;\n").encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("import-merge-pages")
    port = free_port()
    app = app_for(embedded_env(tmp, port, "im"))
    migrate_up(app)
    clean_tables(app)
    with app.app_context():
        from coachapp.extensions import db
        from coachapp.models import Lead, utcnow

        coach_with_password(db, name="Brian Murray", email=OWNER_EMAIL, is_owner=True, time_zone="America/Denver")
        now = utcnow()
        for width in (390, 1280):
            db.session.add(Lead(email=f"jo{width}@example.com", email_display=f"jo{width}@example.com",
                                first_name="Jo", source="instagram", utm_campaign="spring-trail-series",
                                created_at=now - timedelta(days=40), updated_at=now))
            db.session.add(Lead(email=f"jo.runner{width}@example.com", email_display=f"Jo.Runner{width}@example.com",
                                first_name="Joanna", last_name="Runner", phone="+15125550143", stage="contacted",
                                consent_marketing_at=now, source="direct", created_at=now, updated_at=now))
        db.session.commit()
    try:
        with serving(app, port) as base:
            yield base, app
    finally:
        dispose(app)


@pytest.mark.parametrize("width", [390, 1280])
def test_import_and_merge_pages(site, browser, width):
    base, app = site
    context = browser.new_context(**(PHONE if width == 390 else DESKTOP))
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in_page(page, base, OWNER_EMAIL)

    page.goto(f"{base}/dashboard/imports")
    check_page(page, f"import-upload-{width}.png")
    rows = CSV.replace(b"dana@", f"dana{width}@".encode()).replace(b"DANA@", f"DANA{width}@".encode())
    rows = rows.replace(b"maximiliana.", f"maximiliana{width}.".encode())  # new leads for each width
    page.get_by_label("CSV file").set_input_files({"name": f"old-crm-{width}.csv", "mimeType": "text/csv",
                                                   "buffer": rows})
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url("**/dashboard/imports/*")
    assert page.get_by_label("Column 1: “E-mail”").input_value() == "email"
    check_page(page, f"import-mapping-{width}.png")
    with page.expect_navigation():  # posts, then back to this job's page
        page.get_by_role("button", name="Dry run (saves nothing)").click()
    page.get_by_text("would be created").first.wait_for()
    check_page(page, f"import-dry-run-{width}.png")
    with page.expect_navigation():
        page.get_by_role("button", name="Import 4 rows").click()
    page.get_by_role("heading", name="Importing…").wait_for()
    check_page(page, f"import-queued-{width}.png")
    job_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with page.expect_navigation(timeout=15_000), app.app_context():  # the poll reloads the page once done
        from coachapp.leads import importer

        importer.run(job_id)
    page.get_by_role("heading", name="Import finished").wait_for()
    assert page.locator("#created").inner_text() == "2"
    check_page(page, f"import-done-{width}.png")

    with app.app_context():
        from sqlalchemy import select

        from coachapp.extensions import db
        from coachapp.models import Lead

        newer = db.session.execute(select(Lead.id).where(Lead.email == f"jo.runner{width}@example.com")).scalar_one()
        older = db.session.execute(select(Lead.id).where(Lead.email == f"jo{width}@example.com")).scalar_one()
    page.goto(f"{base}/dashboard/leads/{newer}")
    page.get_by_role("link", name="Merge with another lead…").click()
    page.wait_for_url(f"**/dashboard/leads/{newer}/merge")
    page.get_by_label("Email or name").fill(f"jo{width}@")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/dashboard/leads/{newer}/merge?q=*")
    check_page(page, f"merge-search-{width}.png")
    page.get_by_role("link", name=f"jo{width}@example.com").click()
    page.wait_for_url(f"**/dashboard/leads/{newer}/merge/{older}")
    page.get_by_role("button", name="Merge the two leads").wait_for()
    check_page(page, f"merge-compare-{width}.png")
    page.get_by_role("button", name="Merge the two leads").click()
    page.wait_for_url(f"**/dashboard/leads/{older}")
    assert "was merged into this lead" in page.content()
    check_page(page, f"merge-done-{width}.png")
    context.close()
