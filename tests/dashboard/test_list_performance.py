"""The leads list at a realistic size (30,000 leads): a constant number of SQL statements per
page (never one per row), and query plans that use the leads indexes on both backends.

Timings are not asserted here (see bench/bench_leads.py); statement counts and plans are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Select, event, text

from coachapp.dashboard.queries import Cursor, LeadFilters, list_query
from coachapp.extensions import db
from coachapp.models import Lead
from tests.dashboard.test_leads_list import bulk_leads, coach_with_password, lead_ids, link
from tests.helpers_dashboard import sign_in
from tests.helpers_strategy import make_coach

N_LEADS = 30_000
MAX_STATEMENTS = 5  # signed-in coach, the page, the capped count, the owner menu, the nav's waiting count


@pytest.fixture
def big(db_app) -> dict[str, Any]:
    """30,000 leads over three coaches and nobody, inserted with one executemany, then analysed."""
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    sam = coach_with_password(name="Sam Coach", email="sam@motive.example")
    kim = make_coach(db, name="Kim Other", email="kim@motive.example")
    bulk_leads(N_LEADS, owners=[owner.id, sam.id, kim.id, None])
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE leads" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return {"owner": owner, "sam": sam, "kim": kim}


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_page_of_50_costs_a_constant_few_statements(big, db_app):
    assert db.session.query(Lead).count() == N_LEADS
    for who, owners in (("owner", ("Olive Owner", "Sam Coach", "Kim Other", "Unassigned")),
                        ("sam", ("Sam Coach", "Unassigned"))):
        client = sign_in(db_app, big[who])
        url = "/dashboard/leads"
        for visit in ("first page", "keyset page 2", "keyset page 3"):
            with statements() as seen:
                page = client.get(url).get_data(as_text=True)
            assert len(lead_ids(page)) == 50, visit
            assert len(seen) <= MAX_STATEMENTS, (who, visit, seen)
            assert sum("FROM leads" in s for s in seen) == 3, seen  # the page, the capped count, the nav
            table = page.split("<tbody>")[1]
            assert all(name in table for name in owners) and "Kim Other" not in table or who == "owner"
            url = link(page, "next")
        for url in ("/dashboard/leads?sort=tier&page=7&source=google", "/dashboard/leads?sort=name&page=2",
                    "/dashboard/leads?stage=contacted&tier=A2&q=first&red=no&region=hip_extension"):
            with statements() as seen:
                page = client.get(url).get_data(as_text=True)
            assert 1 <= len(lead_ids(page)) <= 50 and len(seen) <= MAX_STATEMENTS, (url, seen)
        assert "1,000+ leads match" in client.get("/dashboard/leads").get_data(as_text=True)


def _explain_postgresql(stmt: Select[Any]) -> list[dict[str, Any]]:
    """Every node of the plan, the parameters bound as the app binds them."""
    compiled = stmt.compile(dialect=db.engine.dialect)
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, todo = [], [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return nodes


def _explain_sqlite(stmt: Select[Any]) -> list[str]:
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


def test_list_queries_use_the_indexes(big, db_app):
    deep = db.session.query(Lead.created_at, Lead.id).order_by(Lead.created_at.desc(), Lead.id.desc()) \
        .offset(25_000).first()
    cases = {
        "default sort": (big["owner"], LeadFilters()),
        "stage filter": (big["owner"], LeadFilters(stage="contacted")),
        "deep keyset page": (big["owner"], LeadFilters(after=Cursor(deep.created_at, deep.id))),
        "coach scope": (big["sam"], LeadFilters()),
        "stage and tier": (big["sam"], LeadFilters(stage="new", tier="A1", sort="oldest")),
    }
    for name, (coach, filters) in cases.items():
        stmt = list_query(coach, filters)
        if db.engine.dialect.name == "postgresql":
            nodes = _explain_postgresql(stmt)
            on_leads = [n["Node Type"] for n in nodes if n.get("Relation Name") == "leads"]
            assert on_leads and "Seq Scan" not in on_leads, (name, on_leads)
            indexes = {n["Index Name"] for n in nodes if n.get("Index Name", "").startswith("ix_leads_")}
            assert indexes, (name, on_leads)
        else:
            details = _explain_sqlite(stmt)
            on_leads = [d for d in details if " leads" in d]
            assert on_leads and all("USING INDEX" in d or "USING COVERING INDEX" in d for d in on_leads), (
                name, details)
    if db.engine.dialect.name == "postgresql":  # the default page is an ordered index walk, not a sort
        nodes = _explain_postgresql(list_query(big["owner"], LeadFilters()))
        assert not any(n["Node Type"] == "Sort" for n in nodes)
        assert any(n.get("Index Name") == "ix_leads_created_at_id" for n in nodes)
    else:
        assert not any("TEMP B-TREE" in d for d in _explain_sqlite(list_query(big["owner"], LeadFilters())))


def test_a_whole_email_address_is_an_exact_lookup_on_the_unique_key():
    """One probe of leads.email's unique index, not a LIKE scan (issue 12)."""
    from coachapp.dashboard.queries import _search

    exact = _search("Dana.Runner@Example.com ".strip())
    assert str(exact) == "leads.email = :email_1"
    assert exact.right.value == "dana.runner@example.com"
    assert " LIKE " in str(_search("dana.runner@"))  # a fragment still searches inside
