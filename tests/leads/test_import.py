"""Lead import, the service: decoding, mapping, dedupe, fill-only updates, consent, no emails.

The import runs through ``importer.run`` — the function the Celery task ``imports.run`` calls
(a one-line wrapper) — in the test process, on SQLite and PostgreSQL; the HTTP flow is in
tests/dashboard/test_import_pages.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads import import_rows, importer
from coachapp.leads.import_rows import FileProblem
from coachapp.models import Coach, Enrollment, ImportJob, Lead, LeadEvent, OutboxMessage, SequenceStep
from tests.helpers_strategy import make_coach

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def job_for(text: str | bytes, name: str = "old-crm.csv") -> ImportJob:
    owner = make_coach(db, name="Olive Owner", email="olive@motive.example", is_owner=True)
    raw = text.encode("utf-8") if isinstance(text, str) else text
    job = importer.create_job(name, raw, owner, NOW)
    db.session.commit()
    return job


def run(job: ImportJob) -> ImportJob:
    importer.queue(job)
    db.session.commit()
    assert importer.run(job.id).startswith("created")
    db.session.expire_all()
    return db.session.get(ImportJob, job.id)


def outcomes(job: ImportJob) -> dict[int, tuple[str, str]]:
    return {line: (outcome, reason) for line, _email, outcome, reason in job.report}


def test_decode_bom_semicolons_and_latin1():
    plain = import_rows.decode("\ufeffEmail,First name\na@example.com,Ann\n".encode())
    assert (plain.header, plain.delimiter, plain.encoding) == (["Email", "First name"], ",", "utf-8")
    assert plain.total_rows == 1
    excel = import_rows.decode("E-mail;Vorname\nzoe@example.com;Zoë\n".encode("cp1252"))
    assert excel.delimiter == ";" and excel.encoding == "windows-1252"
    assert "Windows-1252" in excel.notice and "semicolons" in excel.notice
    assert "Zoë" in excel.text
    with pytest.raises(FileProblem):
        import_rows.decode(b"\x89PNG\x00\x00")
    with pytest.raises(FileProblem):
        import_rows.decode(b"   ")


def test_mapping_is_guessed_from_headers_including_our_own_export():
    from coachapp.dashboard.leads_list import CSV_HEADER

    mapping = import_rows.guess_mapping(list(CSV_HEADER))
    assert {"email", "first_name", "last_name", "phone", "stage", "source", "utm_campaign", "first_seen"} <= set(
        mapping.values())
    assert import_rows.guess_mapping(["E-Mail Address", "Given name", "Opt-in", "Opt-in date", "Tags"]) == {
        "0": "email", "1": "first_name", "2": "consent_marketing", "3": "consent_marketing_at", "4": "tags"}
    assert import_rows.check_mapping({"1": "first_name"}, 2) == "Choose the column that holds the email address."
    assert "one column only" in import_rows.check_mapping({"0": "email", "1": "email"}, 2)


CSV = """email,first name,last name,phone,stage,notes,opted in,opted in at,source
ann@example.com,Ann,Lee,+1 512 555 0143,contacted,Met at the 10k,yes,2025-03-01,
 ANN@example.com ,Annie,,,,,,,
not-an-email,Bob,,,,,,,
,NoMail,,,,,,,
cid@example.com,Cid,,,winning,,,,
dee@example.com,Dee,,12,,,yes,,Newsletter
eve@example.com,Eve,New,,lost,,yes,2025-01-02,
"""


def test_created_updated_unchanged_rejected_with_reasons(db_app):
    existing = Lead(email="eve@example.com", email_display="eve@example.com", first_name="Evelyn", stage="client",
                    source="assessment", created_at=NOW, updated_at=NOW, unsubscribed_sales_at=NOW)
    db.session.add(existing)
    db.session.commit()
    job = run(job_for(CSV))
    assert (job.status, job.processed_rows, job.total_rows) == ("done", 7, 7)
    assert (job.created_count, job.updated_count, job.unchanged_count, job.rejected_count) == (2, 1, 0, 4)
    got = outcomes(job)
    assert got[2][0] == "created"
    assert got[3] == ("rejected", "duplicate in file (row 2)")
    assert got[4] == ("rejected", "invalid email address")
    assert got[5] == ("rejected", "no email address")
    assert got[6][0] == "rejected" and got[6][1].startswith('unknown stage "winning"')
    assert got[7][0] == "created" and "phone not recognised" in got[7][1] and "no consent recorded" in got[7][1]
    assert got[8][0] == "updated"
    assert "filled last name" in got[8][1] and "stage kept at client" in got[8][1] and "unsubscribed" in got[8][1]

    ann = db.session.execute(select(Lead).where(Lead.email == "ann@example.com")).scalar_one()
    assert (ann.first_name, ann.last_name, ann.phone, ann.stage) == ("Ann", "Lee", "+15125550143", "contacted")
    assert ann.source == "import: old-crm.csv"
    assert ann.consent_marketing_at == datetime(2025, 3, 1, tzinfo=UTC)  # the file's date, not now
    assert ann.consent_health_at is None and ann.tier is None and ann.owner_id is None
    dee = db.session.execute(select(Lead).where(Lead.email == "dee@example.com")).scalar_one()
    assert dee.source == "Newsletter" and dee.consent_marketing_at is None  # "yes" without a date: not invented
    eve = db.session.get(Lead, existing.id)
    assert (eve.first_name, eve.last_name, eve.stage, eve.source) == ("Evelyn", "New", "client", "assessment")
    assert eve.consent_marketing_at is None  # unsubscribed: an old opt-in never brings them back
    kinds = db.session.execute(select(LeadEvent.kind, LeadEvent.summary).where(LeadEvent.lead_id == ann.id)).all()
    assert {k for k, _ in kinds} == {"imported", "consent", "note"}
    assert any(s.startswith("Imported from old-crm.csv") for _, s in kinds)
    for model in (OutboxMessage, Enrollment, SequenceStep):  # no emails, no sequences
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    assert importer.report_csv(job).splitlines()[0] == "\ufeffrow,email,outcome,reason"


def test_existing_lead_only_filled_and_new_stage_moves_forward(db_app):
    db.session.add(Lead(email="fay@example.com", email_display="Fay@example.com", first_name="Fay", phone=None,
                        stage="new", created_at=NOW, updated_at=NOW))
    db.session.add(Lead(email="gus@example.com", email_display="gus@example.com", first_name="Gus",
                        phone="+15125550100", stage="new", created_at=NOW, updated_at=NOW))
    db.session.commit()
    job = run(job_for("Email,First name,Phone,Stage\nFAY@example.com,Fiona,+15125550199,session_held\n"
                      "gus@example.com,Gustav,+15125550111,\n"))
    got = outcomes(job)
    assert got[2][0] == "updated" and got[3] == ("unchanged", "nothing new (existing values are kept)")
    fay = db.session.execute(select(Lead).where(Lead.email == "fay@example.com")).scalar_one()
    assert (fay.first_name, fay.phone, fay.stage) == ("Fay", "+15125550199", "session_held")
    gus = db.session.execute(select(Lead).where(Lead.email == "gus@example.com")).scalar_one()
    assert (gus.first_name, gus.phone) == ("Gus", "+15125550100")


def test_dry_run_writes_no_lead_and_predicts_the_run(db_app):
    job = job_for(CSV)
    counts = importer.dry_run(job, NOW)
    db.session.commit()
    assert counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 4}
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
    job = run(job)
    assert job.created_count == 3


def test_a_second_delivery_of_the_task_does_nothing(db_app):
    job = run(job_for("email\nx@example.com\n"))
    assert importer.run(job.id) == "not queued"
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 1


def test_ten_thousand_rows(db_app):
    lines = ["email,first_name,last_name,stage,source"]
    lines += [f"runner{i}@example.com,Runner{i},Test,{'contacted' if i % 3 else 'new'},club" for i in range(10_000)]
    lines += ["runner5@example.com,Dup,,,"]  # a duplicate in the file
    lines += ["not-an-email,Bad,,,", "runner@@example.com,Bad,,,"]  # bad rows
    db.session.add(Lead(email="runner7@example.com", email_display="runner7@example.com", stage="new",
                        created_at=NOW, updated_at=NOW))
    db.session.commit()
    job = run(job_for("\n".join(lines) + "\n"))
    assert (job.created_count, job.updated_count, job.rejected_count, job.processed_rows) == (9999, 1, 3, 10_003)
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 10_000
    assert db.session.scalar(select(func.count()).select_from(LeadEvent).where(LeadEvent.kind == "imported")) \
        == 10_000


def test_our_own_export_imports_back(db_app):
    from tests.dashboard.test_leads_list import coach_with_password
    from tests.helpers_dashboard import sign_in

    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    db.session.add(Lead(email="zoe@example.com", email_display="Zoe@example.com", first_name="Zoë", last_name="-Lane",
                        phone="+15125550143", stage="contacted", source="@club", created_at=NOW, updated_at=NOW))
    db.session.commit()
    exported = sign_in(db_app, owner).get("/dashboard/leads.csv").get_data()
    db.session.execute(Lead.__table__.delete())
    db.session.commit()
    job = importer.create_job("leads.csv", exported, owner, NOW)
    importer.queue(job)
    db.session.commit()
    importer.run(job.id)
    zoe = db.session.execute(select(Lead)).scalar_one()
    assert (zoe.email_display, zoe.first_name, zoe.last_name, zoe.phone, zoe.stage, zoe.source, zoe.first_touch_at) \
        == ("Zoe@example.com", "Zoë", "-Lane", "+15125550143", "contacted", "@club", NOW)


def test_erasure_forgets_the_person_in_import_reports_and_files(db_app):
    from coachapp.leads import actions

    done = run(job_for("email,first name\nann@example.com,Ann\nbob@example.com,Bob\n"))
    assert done.content == ""  # the file's text goes once it is imported
    owner = db.session.get(Coach, done.created_by_id)
    waiting = importer.create_job("later.csv", b"email\nANN@example.com\ncid@example.com\n", owner, NOW)
    db.session.commit()
    ann = db.session.execute(select(Lead).where(Lead.email == "ann@example.com")).scalar_one()
    actions.erase(ann, owner, NOW)
    db.session.commit()
    db.session.expire_all()
    assert [entry[1] for entry in db.session.get(ImportJob, done.id).report] == ["bob@example.com"]
    waiting = db.session.get(ImportJob, waiting.id)
    assert "ann@" not in waiting.content.lower() and waiting.total_rows == 1
