"""The leads list: filters, search, sorts, keyset/offset paging, bad input and access scope.

Also home of the lead builders the export and performance tests share.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from coachapp.extensions import db
from coachapp.models import STAGES, Lead
from tests.helpers_dashboard import PASSWORD, sign_in
from tests.helpers_strategy import make_coach

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 06:00 in Chicago (CST, the coaches' zone)
ROW_RE = re.compile(r'<tr data-lead="(\d+)">')
_serial = itertools.count()


@functools.cache
def _password_hash() -> str:
    from coachapp.auth.passwords import hash_password

    return hash_password(PASSWORD)


def coach_with_password(**values: Any):
    """A coach who can sign in with PASSWORD (the argon2 hash is computed once per run)."""
    return make_coach(db, password_hash=_password_hash(), **values)


def make_lead(**values: Any) -> Lead:
    """One committed lead with a unique email."""
    n = next(_serial)
    values.setdefault("email", f"lead{n}@example.com")
    values.setdefault("email_display", values["email"])
    values.setdefault("created_at", T0 + timedelta(minutes=n))
    lead = Lead(**values)
    db.session.add(lead)
    db.session.commit()
    return lead


def bulk_leads(count: int, owners: list[int | None], start: datetime = T0, tie: int = 1) -> None:
    """``count`` varied leads in one executemany; every ``tie`` consecutive leads share a created_at."""
    tiers = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3", None]
    regions = ["ankle_dorsiflexion", "hip_extension", "hip_internal_rotation", "thoracic_rotation", None]
    rows = [
        {
            "email": f"runner{i}@example.com", "email_display": f"Runner{i}@Example.com",
            "first_name": f"First{i}", "last_name": f"Last{i % 997}", "phone": f"+1512{i:07d}",
            "stage": STAGES[i % len(STAGES)], "tier": tiers[i % len(tiers)],
            "source": ("google", "strava", "direct")[i % 3], "top_priority": regions[i % len(regions)],
            "needs_clinician": i % 50 == 0, "owner_id": owners[i % len(owners)],
            "created_at": start + timedelta(seconds=37 * (i // tie)), "updated_at": start,
            "fit_score": i % 100, "urgency_score": (3 * i) % 100, "engagement_score": 10,
            "utm_campaign": "spring" if i % 2 else None,
        }
        for i in range(count)
    ]
    db.session.execute(insert(Lead), rows)
    db.session.commit()


def lead_ids(page: str) -> list[int]:
    """The lead ids of the rendered table rows, in order."""
    return [int(x) for x in ROW_RE.findall(page)]


def link(page: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def people(db_app) -> dict[str, Any]:
    """An owner, two coaches and five leads (one erased) with distinct attributes."""
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    sam = coach_with_password(name="Sam Coach", email="sam@motive.example")
    kim = make_coach(db, name="Kim Other", email="kim@motive.example")
    leads = {
        "ann": make_lead(first_name="Ann", last_name="Archer", email="ann@example.com", phone="+15125550143",
                         stage="new", tier="A1", source="google", top_priority="ankle_dorsiflexion",
                         owner_id=sam.id, created_at=T0),
        "bob": make_lead(first_name="Bob", last_name="Baker", email="bob.b@mail.test", stage="contacted",
                         tier="B2", source="strava", top_priority="hip_extension", needs_clinician=True,
                         created_at=T0 + timedelta(days=1)),
        # 2026-11-03 03:00 UTC is still 2 November in Chicago.
        "cat": make_lead(first_name="Cat", last_name="Cole", phone="+442071234567", stage="client", tier="C3",
                         source="google", owner_id=kim.id, created_at=T0 + timedelta(days=1, hours=15)),
        "dan": make_lead(first_name="Dan", stage="new", owner_id=sam.id, created_at=T0 + timedelta(days=3)),
        "eve": make_lead(first_name="Eve", last_name="Erased", erased_at=T0, created_at=T0 + timedelta(days=4)),
    }
    return {"owner": owner, "sam": sam, "kim": kim, **{k: v.id for k, v in leads.items()}}


def names(people: dict[str, Any], page: str) -> set[str]:
    by_id = {v: k for k, v in people.items() if isinstance(v, int)}
    return {by_id[i] for i in lead_ids(page)}


def test_signed_out_is_sent_to_sign_in(web):
    for url in ("/dashboard/leads?stage=new", "/dashboard/leads.csv"):
        response = web.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")


FILTER_CASES = [
    ("", {"ann", "bob", "cat", "dan"}),
    ("stage=new", {"ann", "dan"}),
    ("stage=client", {"cat"}),
    ("tier=A1", {"ann"}),
    ("tier=b2", {"bob"}),
    ("source=google", {"ann", "cat"}),
    ("region=hip_extension", {"bob"}),
    ("red=yes", {"bob"}),
    ("red=no", {"ann", "cat", "dan"}),
    ("owner=none", {"bob"}),
    ("from=2026-11-02", {"bob", "cat", "dan"}),
    ("to=2026-11-02", {"ann", "bob", "cat"}),
    ("from=2026-11-02&to=2026-11-02", {"bob", "cat"}),
    ("stage=new&source=google", {"ann"}),
    ("source=google&from=2026-11-02&red=no", {"cat"}),
    ("stage=contacted&red=no", set()),
]


def test_each_filter_narrows_and_they_combine(people, db_app):
    client = sign_in(db_app, people["owner"])
    for query, expected in FILTER_CASES:
        page = client.get(f"/dashboard/leads?{query}").get_data(as_text=True)
        assert names(people, page) == expected, query


def test_owner_filter_by_coach_id_and_me(people, db_app):
    client = sign_in(db_app, people["owner"])
    assert names(people, client.get(f"/dashboard/leads?owner={people['kim'].id}").get_data(as_text=True)) == {"cat"}
    assert names(people, client.get(f"/dashboard/leads?owner={people['sam'].id}").get_data(as_text=True)) == {
        "ann", "dan"}
    assert names(people, client.get("/dashboard/leads?owner=me").get_data(as_text=True)) == set()


SEARCH_CASES = [
    ("arch", {"ann"}), ("ANN ARCHER", {"ann"}), ("archer  ann", {"ann"}), ("ann baker", set()),
    ("mail.TEST", {"bob"}), ("bob.b@", {"bob"}),
    ("(512) 555-0143", {"ann"}), ("555 01", {"ann"}), ("+44 20 7123", {"cat"}), ("ol", {"cat"}), ("AN", {"ann", "dan"}),
    ("%", set()), ("_", set()), ("nobody", set()),
]


def test_search_by_name_email_or_phone(people, db_app):
    client = sign_in(db_app, people["owner"])
    for q, expected in SEARCH_CASES:
        page = client.get("/dashboard/leads", query_string={"q": q}).get_data(as_text=True)
        assert names(people, page) == expected, q


def test_sorts(people, db_app):
    client = sign_in(db_app, people["owner"])
    for sort, order in [("newest", ["dan", "cat", "bob", "ann"]), ("oldest", ["ann", "bob", "cat", "dan"]),
                        ("tier", ["ann", "bob", "cat", "dan"]), ("name", ["ann", "bob", "cat", "dan"])]:
        page = client.get(f"/dashboard/leads?sort={sort}").get_data(as_text=True)
        assert lead_ids(page) == [people[k] for k in order], sort


def test_rows_show_every_column_and_owner_names(people, db_app):
    page = sign_in(db_app, people["owner"]).get("/dashboard/leads").get_data(as_text=True)
    row = page.split(f'<tr data-lead="{people["bob"]}">')[1].split("</tr>")[0]
    for text in ("Bob Baker", "bob.b@mail.test", "contacted", 'class="tag tier-B2"', "Hip extension",
                 'class="tag red"', "Unassigned", "strava", "Mon 2 Nov 06:00"):
        assert text in row
    ann = page.split(f'<tr data-lead="{people["ann"]}">')[1].split("</tr>")[0]
    assert "Sam Coach" in ann and "+15125550143" in ann and "Ankle dorsiflexion" in ann
    if "dashboard.lead" in db_app.view_functions:
        assert f'href="/dashboard/leads/{people["ann"]}"' in ann
    else:
        assert "<a " not in ann


def test_text_is_escaped(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    make_lead(first_name="<script>x</script>", email="x@example.com")
    page = sign_in(db_app, owner).get("/dashboard/leads").get_data(as_text=True)
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_the_form_shows_the_current_values(people, db_app):
    page = sign_in(db_app, people["owner"]).get(
        f"/dashboard/leads?stage=contacted&q=bob&from=2026-11-02&red=yes&sort=name&owner={people['kim'].id}"
        "&region=hip_extension&tier=B2&source=strava").get_data(as_text=True)
    for fragment in ('<option value="contacted" selected>', 'name="q" value="bob"', 'name="from" value="2026-11-02"',
                     '<option value="yes" selected>', '<option value="name" selected>',
                     f'<option value="{people["kim"].id}" selected>Kim Other', '<option value="B2" selected>',
                     '<option value="hip_extension" selected>', 'name="source" value="strava"'):
        assert fragment in page
    assert "Download CSV" in page and "/dashboard/leads.csv?" in page and "stage=contacted" in page


def walk(client, url: str, rel: str) -> list[list[int]]:
    pages = []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(lead_ids(page))
        url = link(page, rel)
        assert len(pages) < 20
    return pages


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_keyset_paging_returns_every_lead_once_both_ways(db_app, sort):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    bulk_leads(123, owners=[None], tie=4)  # four leads share each created_at: the id breaks ties
    client = sign_in(db_app, owner)
    forward = walk(client, f"/dashboard/leads?sort={sort}", "next")
    assert [len(p) for p in forward] == [50, 50, 23]
    seen = [i for p in forward for i in p]
    rows = db.session.query(Lead.created_at, Lead.id).all()
    expected = [i for _, i in sorted(rows, reverse=sort == "newest")]
    assert seen == expected and len(set(seen)) == 123
    last_page = client.get(f"/dashboard/leads?sort={sort}&after={_cursor(rows, seen[99])}").get_data(as_text=True)
    assert lead_ids(last_page) == forward[2]
    backward = walk(client, link(last_page, "prev"), "prev")
    assert backward == [forward[1], forward[0]]
    assert "First page" in last_page and link(client.get(link(last_page, "prev")).get_data(as_text=True), "prev")


def _cursor(rows, lead_id: int) -> str:
    from coachapp.dashboard.queries import Cursor

    created = dict((i, c) for c, i in rows)[lead_id]
    return Cursor(created, lead_id).token()


def test_offset_paging_for_other_sorts_and_filters_stay_in_pager_links(db_app):
    owner = coach_with_password(name="Olive Owner", email="olive@motive.example", is_owner=True)
    bulk_leads(300, owners=[None])
    client = sign_in(db_app, owner)
    pages = walk(client, "/dashboard/leads?sort=tier&source=google&red=no&q=first", "next")
    seen = [i for p in pages for i in p]
    google = {lead.id for lead in db.session.query(Lead).filter_by(source="google", needs_clinician=False)}
    assert len(seen) == len(set(seen)) == len(google) == 98 and set(seen) == google
    first = client.get("/dashboard/leads?sort=tier&source=google&red=no&q=first").get_data(as_text=True)
    assert all(part in link(first, "next") for part in ("sort=tier", "source=google", "red=no", "q=first", "page=2"))
    keyset = client.get("/dashboard/leads?stage=new&tier=A1").get_data(as_text=True)  # 8 leads: one page
    assert link(keyset, "next") is None
    newest = client.get("/dashboard/leads?source=google&from=2026-11-01").get_data(as_text=True)
    assert all(p in link(newest, "next") for p in ("source=google", "from=2026-11-01", "after="))


BAD_INPUT = [
    ("stage=bogus", "Unknown stage"),
    ("owner=abc", "Unknown owner"),
    ("owner=-1", "Unknown owner"),
    ("tier=Z9", "Unknown tier"),
    ("region=knee", "Unknown top priority"),
    ("red=maybe", "Unknown red-flag filter"),
    ("from=2026-13-45", "is not a date"),
    ("to=99999-01-01", "is not a date"),
    ("to=0001-01-01", "is not a date"),
    ("sort=drop%20table", "Unknown sort"),
    ("after=abc", "page link is not valid"),
    ("after=99999999999999999_1", "page link is not valid"),
    ("before=-99999999999999999_1", "page link is not valid"),
    ("after=1_0", "page link is not valid"),
    ("after=1_999999999999999999999", "page link is not valid"),
    ("sort=tier&page=0", "page number is not valid"),
    ("sort=name&page=abc", "page number is not valid"),
    ("sort=tier&page=99999999999", "page number is not valid"),
    ("sort=tier&page=100000", "Only the first 100 pages"),
]


def test_bad_input_is_cleared_with_a_message_never_a_500(people, db_app):
    client = sign_in(db_app, people["owner"])
    for query, notice in BAD_INPUT:
        response = client.get(f"/dashboard/leads?{query}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, query
        assert notice in html.unescape(page), query
        if "page=100000" not in query:
            assert names(people, page) == {"ann", "bob", "cat", "dan"}, query
    export = client.get("/dashboard/leads.csv?stage=bogus&owner=abc&from=x&after=zz")
    assert export.status_code == 200 and len(export.get_data(as_text=True).splitlines()) == 5


def test_swapped_dates_are_put_right(people, db_app):
    page = sign_in(db_app, people["owner"]).get("/dashboard/leads?from=2026-11-02&to=2026-11-01").get_data(
        as_text=True)
    assert "wrong way round" in page and names(people, page) == {"ann", "bob", "cat"}


def test_a_coach_sees_own_and_unassigned_leads_only(people, db_app):
    client = sign_in(db_app, people["sam"])
    assert names(people, client.get("/dashboard/leads").get_data(as_text=True)) == {"ann", "bob", "dan"}
    assert names(people, client.get(f"/dashboard/leads?owner={people['kim'].id}").get_data(as_text=True)) == set()
    assert names(people, client.get("/dashboard/leads?q=cat").get_data(as_text=True)) == set()
    assert names(people, client.get("/dashboard/leads?owner=me").get_data(as_text=True)) == {"ann", "dan"}
    assert names(people, client.get("/dashboard/leads?owner=none").get_data(as_text=True)) == {"bob"}
    page = client.get("/dashboard/leads").get_data(as_text=True)
    assert "Kim Other" not in page  # a coach's owner menu lists only "Me" and "Unassigned"


def test_the_owner_sees_every_lead_but_never_erased_ones(people, db_app):
    page = sign_in(db_app, people["owner"]).get("/dashboard/leads?q=eve").get_data(as_text=True)
    assert lead_ids(page) == [] and "0 leads match" in page
    page = sign_in(db_app, people["owner"]).get("/dashboard/leads").get_data(as_text=True)
    assert names(people, page) == {"ann", "bob", "cat", "dan"} and "4 leads match" in page
