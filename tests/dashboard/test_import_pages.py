"""Lead import through the HTTP endpoints: upload, preview, mapping, dry run, import, report.

The import's task is published to the test app's filesystem broker (no worker listens there)
and run by calling ``importer.run`` — exactly what the task ``imports.run`` does — so each
test stays on its own database; tests/integration/test_import_worker.py runs it in a real
worker process.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads import importer
from coachapp.models import ImportJob, Lead, OutboxMessage
from tests.dashboard.test_leads_list import coach_with_password
from tests.helpers_dashboard import sign_in

CSV = ("\ufeffE-mail;Vorname;Nachname;Stage;Opted in;Opt-in date\n"
       "zoe@example.com;Zoë;Lane;contacted;yes;2025-05-01\n"
       "bad-address;Bob;;;;\n"
       "ZOE@example.com;Zoe;;;;\n").encode("utf-8")


@pytest.fixture
def owner(db_app):
    return coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)


def upload(web, data: bytes = CSV, name: str = "crm.csv"):
    web.get("/dashboard/imports")
    return web.post("/dashboard/imports", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_preview_dry_run_import_report(db_app, owner):
    web = sign_in(db_app, owner)
    response = upload(web)
    assert response.status_code == 302
    job = db.session.execute(select(ImportJob)).scalar_one()
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "semicolons" in page and "Zoë" in page and "never overwritten" in page
    assert 'value="email" selected' in page and 'value="consent_marketing_at" selected' in page
    mapping = {"col0": "email", "col1": "first_name", "col2": "last_name", "col3": "stage",
               "col4": "consent_marketing", "col5": "consent_marketing_at"}
    response = web.post(f"/dashboard/imports/{job.id}", {**mapping, "action": "dry_run"})
    assert response.status_code == 302
    page = web.get(f"/dashboard/imports/{job.id}").get_data(as_text=True)
    assert "1 would be created, 0 updated, 0 unchanged, 2 rejected" in page
    assert "duplicate in file (row 2)" in page and "invalid email address" in page
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0

    web.post(f"/dashboard/imports/{job.id}", {**mapping, "action": "import"})
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "queued"
    assert importer.run(job.id).startswith("created 1")
    progress = web.get(f"/dashboard/imports/{job.id}/progress.json").get_json()
    assert progress == {"status": "done", "processed": 3, "total": 3, "created": 1, "updated": 0, "unchanged": 0,
                        "rejected": 2}
    report = web.get(f"/dashboard/imports/{job.id}/report.csv")
    assert report.mimetype == "text/csv"
    lines = report.get_data(as_text=True).splitlines()
    assert lines[1:] == ["2,zoe@example.com,created,", "3,bad-address,rejected,invalid email address",
                         "4,ZOE@example.com,rejected,duplicate in file (row 2)"]
    zoe = db.session.execute(select(Lead)).scalar_one()
    assert (zoe.first_name, zoe.stage, zoe.source) == ("Zoë", "contacted", "import: crm.csv")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert "Imported from crm.csv" in web.get(f"/dashboard/leads/{zoe.id}").get_data(as_text=True)


def test_bad_files_and_mappings_are_explained(db_app, owner):
    web = sign_in(db_app, owner)
    response = upload(web, b"\x00\x01binary", "photo.csv")
    assert response.headers["Location"].endswith("/dashboard/imports")
    assert "not a text file" in web.get("/dashboard/imports").get_data(as_text=True)
    upload(web, b"email,name\na@example.com,Ann\n")
    job = db.session.execute(select(ImportJob)).scalar_one()
    web.post(f"/dashboard/imports/{job.id}", {"col0": "", "col1": "first_name", "action": "dry_run"})
    assert "Choose the column that holds the email address." in web.get(f"/dashboard/imports/{job.id}").get_data(
        as_text=True)


def test_only_the_owner_imports_and_csrf_is_required(db_app, owner):
    coach = coach_with_password(name="Sam Coach", email="sam@motive.example")
    web = sign_in(db_app, coach)
    assert web.get("/dashboard/imports").status_code == 403
    web.get("/dashboard/leads")  # a CSRF token from a page this coach can see
    assert web.post("/dashboard/imports", {"file": (io.BytesIO(CSV), "x.csv")},
                    content_type="multipart/form-data").status_code == 403
    assert "Import CSV" not in web.get("/dashboard/leads").get_data(as_text=True)
    owner_web = sign_in(db_app, owner)
    response = owner_web.client.post("/dashboard/imports", data={"file": (io.BytesIO(CSV), "x.csv")},
                                     content_type="multipart/form-data")
    assert response.status_code == 400  # no CSRF token
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_file_over_the_limit_is_refused(db_app, owner):
    web = sign_in(db_app, owner)
    web.get("/dashboard/imports")
    body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\nemail\n"
            + b"x" * (importer.MAX_BYTES + 100 * 1024) + b"\r\n--B--\r\n")
    response = web.client.post("/dashboard/imports", data=body, content_type="multipart/form-data; boundary=B",
                               headers={"X-CSRFToken": web.last_token})
    assert response.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
