"""The CSV export: columns, formula injection, streaming, filters and access scope."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from coachapp.dashboard.leads_list import CSV_HEADER, csv_safe
from coachapp.extensions import db
from coachapp.models import Lead, utcnow
from tests.dashboard.test_leads_list import T0, bulk_leads, coach_with_password, make_lead
from tests.helpers_dashboard import sign_in
from tests.helpers_strategy import make_coach


def rows_of(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # so spreadsheet programs read UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def setup(db_app) -> dict[str, Any]:
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    sam = coach_with_password(name="Sam Coach", email="sam@motive.example")
    kim = make_coach(db, name="=Kim", email="kim@motive.example")
    evil = make_lead(first_name='=HYPERLINK("http://x")', last_name="-Smith", email="evil@example.com",
                     email_display="Evil@Example.com", phone="+15125550143", stage="new", tier="A1", fit_score=80,
                     urgency_score=70, engagement_score=40, top_priority="ankle_dorsiflexion",
                     needs_clinician=True, owner_id=sam.id, source="@mention", utm_campaign="+promo",
                     created_at=T0 + timedelta(microseconds=654321))
    zoe = make_lead(first_name="Zoë", last_name="Lane", email="zoe@example.com", stage="contacted",
                    created_at=T0 + timedelta(hours=1))
    kims = make_lead(first_name="Kit", last_name="Kim", email="kit@example.com", owner_id=kim.id,
                     created_at=T0 + timedelta(hours=2))
    make_lead(first_name="Gone", email="gone@example.com", erased_at=T0, created_at=T0 + timedelta(hours=3))
    return {"owner": owner, "sam": sam, "kim": kim, "evil": evil.id, "zoe": zoe.id, "kims": kims.id}


def test_header_rows_and_formula_injection_neutralised(setup, db_app):
    rows = rows_of(sign_in(db_app, setup["owner"]).get("/dashboard/leads.csv"))
    assert rows[0] == list(CSV_HEADER)
    assert [int(r[0]) for r in rows[1:]] == [setup["kims"], setup["zoe"], setup["evil"]]  # newest first
    assert rows[3] == [
        str(setup["evil"]), "2026-11-01T12:00:00Z", "'=HYPERLINK(\"http://x\")", "'-Smith", "Evil@Example.com",
        "'+15125550143", "new", "A1", "80", "70", "40", "ankle_dorsiflexion", "yes", "Sam Coach", "'@mention",
        "'+promo",
    ]
    assert rows[2] == [str(setup["zoe"]), "2026-11-01T13:00:00Z", "Zoë", "Lane", "zoe@example.com", "",
                       "contacted", "", "", "", "", "", "no", "", "direct", ""]
    assert rows[1][13] == "'=Kim"  # the owner's name is a cell like any other


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("a=b", "a=b"), ("", ""), (7, 7), (None, None),
])
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_it_streams_with_a_fixed_filename(setup, db_app):
    raw_client = sign_in(db_app, setup["owner"]).client  # Browserish reads every body: go around it
    response = raw_client.get('/dashboard/leads.csv?q=";%0d%0aX-Evil: 1')
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="leads-{utcnow():%Y-%m-%d}.csv"'
    assert response.headers["Cache-Control"] == "no-store" and "X-Evil" not in response.headers
    assert rows_of(response) == [list(CSV_HEADER)]


def test_the_list_filters_and_sort_apply(setup, db_app):
    client = sign_in(db_app, setup["owner"])
    assert [r[0] for r in rows_of(client.get("/dashboard/leads.csv?stage=contacted"))[1:]] == [str(setup["zoe"])]
    assert [r[0] for r in rows_of(client.get("/dashboard/leads.csv?q=hyperlink"))[1:]] == [str(setup["evil"])]
    assert [r[0] for r in rows_of(client.get("/dashboard/leads.csv?red=yes&tier=A1"))[1:]] == [str(setup["evil"])]
    oldest = rows_of(client.get("/dashboard/leads.csv?sort=oldest&after=1_1"))[1:]  # cursors never cut an export
    assert [int(r[0]) for r in oldest] == [setup["evil"], setup["zoe"], setup["kims"]]


def test_a_coach_exports_only_own_and_unassigned_leads(setup, db_app):
    client = sign_in(db_app, setup["sam"])
    assert [int(r[0]) for r in rows_of(client.get("/dashboard/leads.csv"))[1:]] == [setup["zoe"], setup["evil"]]
    assert rows_of(client.get(f"/dashboard/leads.csv?owner={setup['kim'].id}")) == [list(CSV_HEADER)]
    assert rows_of(client.get("/dashboard/leads.csv?q=kit")) == [list(CSV_HEADER)]


def test_thousands_of_rows_come_out_once_each_in_batches(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    bulk_leads(2345, owners=[owner.id, None])
    response = sign_in(db_app, owner).client.get("/dashboard/leads.csv")
    chunks = list(response.response)
    assert len(chunks) == 1 + 3  # header, then one chunk per batch of 1,000 rows
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))[1:]
    ids = [int(r[0]) for r in rows]
    assert len(ids) == len(set(ids)) == 2345
    assert ids == sorted(ids, reverse=True)  # created_at grows with the id here: newest first
    assert {r[13] for r in rows} == {"Olive Owner", ""}
    assert db.session.query(Lead).count() == 2345
