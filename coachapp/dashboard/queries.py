"""Read-side queries for the leads list and its CSV export.

``parse_filters`` turns URL arguments into a frozen ``LeadFilters`` (bad values are dropped,
with a short notice for each); the builders turn filters plus the acting coach into
``select()`` statements, always inside ``lead_scope(coach)`` and never showing erased leads.
Nothing here reads the request or the signed-in user: callers pass the coach in.

Paging: the newest/oldest sorts use keyset pagination on the ``(created_at, id)`` index
(``after``/``before`` cursors in the URL); the tier and name sorts use a bounded OFFSET.
Totals are counted up to ``COUNT_CAP`` only, so a page view never counts the whole table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, DateTime, Row, Select, and_, func, literal, or_, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from coachapp.dashboard.access import lead_scope
from coachapp.leads.services import InvalidEmail, normalize_email
from coachapp.models import STAGES, Coach, Lead

PAGE_SIZE = 50
COUNT_CAP = 1000
MAX_PAGE = 100  # OFFSET sorts stop here: at most 4,950 rows skipped
EXPORT_BATCH = 1000
SEARCH_MAX = 100
SEARCH_WORDS = 5
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "tier": "Tier (A1 first)", "name": "Name (A–Z)"}
KEYSET_SORTS = frozenset({"newest", "oldest"})
RED_FLAG = {"yes": True, "no": False}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PHONE_LIKE = re.compile(r"^[\d\s().+\-]+$")
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


@dataclass(frozen=True)
class Cursor:
    """A position in the (created_at, id) order; in URLs as ``<epoch microseconds>_<id>``."""

    created_at: datetime
    id: int

    def token(self) -> str:
        return f"{(self.created_at - _EPOCH) // timedelta(microseconds=1)}_{self.id}"

    @classmethod
    def parse(cls, raw: str) -> Cursor | None:
        """The cursor in ``raw``, or None when it is malformed or out of any plausible range."""
        match = re.fullmatch(r"(\d{1,17})_([1-9]\d{0,8})", raw)  # the id: within INTEGER
        if match is None:
            return None
        moment = _EPOCH + timedelta(microseconds=int(match[1]))
        return cls(moment, int(match[2])) if moment.year < 3000 else None


@dataclass(frozen=True)
class FilterChoices:
    """The values a filter may take that come from the rules (tiers, top-priority regions)."""

    tiers: tuple[str, ...]
    regions: Mapping[str, str]  # id -> label


@dataclass(frozen=True)
class LeadFilters:
    """What the list shows: filters, search, sort and position (cursor or page)."""

    stage: str | None = None
    owner: str | None = None  # "me", "none" or a coach id (digits)
    tier: str | None = None
    source: str | None = None
    region: str | None = None  # top priority
    red_flag: bool | None = None
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""
    sort: str = "newest"
    after: Cursor | None = None
    before: Cursor | None = None
    page: int = 1

    def args(self) -> dict[str, str]:
        """The filters and sort as URL arguments (no cursor or page), empty ones left out."""
        red = None if self.red_flag is None else ("yes" if self.red_flag else "no")
        values = {
            "stage": self.stage, "owner": self.owner, "tier": self.tier, "source": self.source,
            "region": self.region, "red": red, "q": self.q or None,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
            "sort": self.sort if self.sort != "newest" else None,
        }
        return {key: value for key, value in values.items() if value}

    @property
    def keyset(self) -> bool:
        return self.sort in KEYSET_SORTS


@dataclass(frozen=True)
class LeadPage:
    """One page of rows, where it sits, and how many leads match (counted up to COUNT_CAP + 1)."""

    rows: Sequence[Row[Any]]
    filters: LeadFilters
    has_next: bool
    has_prev: bool
    total: int
    next_cursor: Cursor | None = None
    prev_cursor: Cursor | None = None

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


def _shown(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:40] + "…"


def _date(raw: str, label: str, notices: list[str]) -> date | None:
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or not 1900 <= value.year <= 9000:
        notices.append(f"“{_shown(raw)}” is not a date (YYYY-MM-DD): the {label} date was cleared.")
        return None
    return value


def _choice(raw: str, allowed: Mapping[str, Any] | Sequence[str], label: str, notices: list[str]) -> str | None:
    if not raw:
        return None
    if raw in allowed:
        return raw
    notices.append(f"Unknown {label} “{_shown(raw)}”: that filter was cleared.")
    return None


def parse_filters(args: Mapping[str, str], choices: FilterChoices) -> tuple[LeadFilters, list[str]]:
    """Filters from URL arguments; anything unusable is dropped and explained in the notices."""
    notices: list[str] = []

    def arg(name: str) -> str:
        return (args.get(name) or "").strip()

    owner = arg("owner").lower() or None
    if owner and owner not in ("me", "none") and not re.fullmatch(r"[1-9]\d{0,8}", owner):
        notices.append(f"Unknown owner “{_shown(owner)}”: showing every owner.")
        owner = None
    red_raw = arg("red").lower()
    red = RED_FLAG.get(red_raw)
    if red_raw and red is None:
        notices.append(f"Unknown red-flag filter “{_shown(red_raw)}”: that filter was cleared.")
    created_from, created_to = _date(arg("from"), "from", notices), _date(arg("to"), "to", notices)
    if created_from and created_to and created_from > created_to:
        notices.append("The dates were the wrong way round: they have been swapped.")
        created_from, created_to = created_to, created_from
    q = " ".join(arg("q").split())
    if len(q) > SEARCH_MAX:
        notices.append(f"The search was shortened to {SEARCH_MAX} characters.")
        q = q[:SEARCH_MAX]
    sort = arg("sort") or "newest"
    if sort not in SORTS:
        notices.append(f"Unknown sort “{_shown(sort)}”: showing newest first.")
        sort = "newest"
    filters = LeadFilters(
        stage=_choice(arg("stage"), STAGES, "stage", notices),
        owner=owner,
        tier=_choice(arg("tier").upper(), choices.tiers, "tier", notices),
        source=arg("source")[:120] or None,
        region=_choice(arg("region"), choices.regions, "top priority", notices),
        red_flag=red, created_from=created_from, created_to=created_to, q=q, sort=sort,
    )
    return _paging(filters, arg, notices), notices


def _paging(filters: LeadFilters, arg: Callable[[str], str], notices: list[str]) -> LeadFilters:
    """The cursor (newest/oldest sorts) or the page number (other sorts), when usable."""
    if filters.keyset:
        after, before = arg("after"), arg("before")
        cursor_raw = after or before
        cursor = Cursor.parse(cursor_raw) if cursor_raw else None
        if cursor_raw and cursor is None:
            notices.append("That page link is not valid: showing the first page.")
            return filters
        return replace(filters, after=cursor) if after else replace(filters, before=cursor)
    raw = arg("page") or "1"
    page = int(raw) if re.fullmatch(r"\d{1,9}", raw) else 0
    if page < 1:
        notices.append("That page number is not valid: showing the first page.")
        page = 1
    elif page > MAX_PAGE:
        notices.append(f"Only the first {MAX_PAGE} pages are shown for this sort: "
                       "narrow the filters, or sort by newest or oldest to page further.")
        page = MAX_PAGE
    return replace(filters, page=page)


def _search(q: str) -> ColumnElement[bool]:
    """Case-insensitive search; LIKE wildcards in ``q`` are escaped.

    A phone-like ``q`` ("(512) 555-01", "+44 20 7123") matches its digits inside the E.164 phone
    (or its text inside the email); otherwise every word must appear in the first name, the last
    name or the email (the stored email is already lower-cased, so a plain LIKE does). A whole
    email address is the lead's key: an exact match, one probe of the unique index on
    ``leads.email`` instead of a scan (70 ms at 100,000 leads).
    """
    if _EMAIL_LIKE.match(q):
        return Lead.email == _email_key(q)
    digits = re.sub(r"\D", "", q)
    if _PHONE_LIKE.match(q) and len(digits) >= 3:
        return or_(Lead.phone.contains(digits, autoescape=True),
                   Lead.email.contains(q.replace(" ", "").lower(), autoescape=True))
    return and_(*(
        or_(Lead.first_name.icontains(word, autoescape=True), Lead.last_name.icontains(word, autoescape=True),
            Lead.email.contains(word.lower(), autoescape=True))
        for word in q.split()[:SEARCH_WORDS]
    ))


def _email_key(q: str) -> str:
    """The lookup key the lead was stored under (as ``leads.services.normalize_email``)."""
    try:
        return normalize_email(q)[0]
    except InvalidEmail:
        return q.lower()


def where_clauses(coach: Coach, filters: LeadFilters) -> list[ColumnElement[bool]]:
    """The WHERE of the list and the export: access scope, no erased leads, then each filter."""
    clauses = [lead_scope(coach), Lead.erased_at.is_(None)]
    if filters.stage:
        clauses.append(Lead.stage == filters.stage)
    if filters.owner == "me":
        clauses.append(Lead.owner_id == coach.id)
    elif filters.owner == "none":
        clauses.append(Lead.owner_id.is_(None))
    elif filters.owner:
        clauses.append(Lead.owner_id == int(filters.owner))
    if filters.tier:
        clauses.append(Lead.tier == filters.tier)
    if filters.source:
        clauses.append(Lead.source == filters.source)
    if filters.region:
        clauses.append(Lead.top_priority == filters.region)
    if filters.red_flag is not None:
        clauses.append(Lead.needs_clinician == filters.red_flag)  # NOT NULL: "=" can use the index
    zone = ZoneInfo(coach.time_zone or "UTC")
    if filters.created_from:
        clauses.append(Lead.created_at >= datetime.combine(filters.created_from, time(0), zone).astimezone(UTC))
    if filters.created_to:
        end = datetime.combine(filters.created_to + timedelta(days=1), time(0), zone)
        clauses.append(Lead.created_at < end.astimezone(UTC))
    if filters.q:
        clauses.append(_search(filters.q))
    return clauses


def _order(sort: str, reverse: bool = False) -> list[Any]:
    if sort in KEYSET_SORTS:
        descending = (sort == "newest") != reverse
        return [Lead.created_at.desc(), Lead.id.desc()] if descending else [Lead.created_at.asc(), Lead.id.asc()]
    if sort == "tier":
        return [Lead.tier.asc().nulls_last(), Lead.created_at.desc(), Lead.id.desc()]
    return [func.lower(Lead.last_name).asc().nulls_last(), func.lower(Lead.first_name).asc().nulls_last(),
            Lead.id.asc()]


LIST_COLUMNS = (Lead.id, Lead.created_at, Lead.first_name, Lead.last_name, Lead.email_display, Lead.phone,
                Lead.stage, Lead.tier, Lead.top_priority, Lead.needs_clinician, Lead.source, Lead.owner_id)
#: ``created_at`` comes as the driver gives it (aware in the session's zone on PostgreSQL, naive UTC
#: on SQLite): ``leads_list.csv_record`` makes it UTC with one C call instead of a Python type
#: processor per row.
EXPORT_COLUMNS = (Lead.id, type_coerce(Lead.created_at, DateTime()).label("created_at"), Lead.first_name,
                  Lead.last_name, Lead.email_display, Lead.phone, Lead.stage, Lead.tier, Lead.fit_score,
                  Lead.urgency_score, Lead.engagement_score, Lead.top_priority, Lead.needs_clinician, Lead.source,
                  Lead.utm_campaign)


def _with_owner(*columns: Any) -> Select[Any]:
    """The columns plus the owner's name, from one outer join (never a query per row)."""
    return select(*columns, Coach.name.label("owner_name")).outerjoin(Coach, Coach.id == Lead.owner_id)


def list_query(coach: Coach, filters: LeadFilters, limit: int = PAGE_SIZE + 1) -> Select[Any]:
    """One page of the list (``limit`` rows, one more than shown to learn whether there is a next)."""
    stmt = _with_owner(*LIST_COLUMNS).where(*where_clauses(coach, filters))
    if not filters.keyset:
        return stmt.order_by(*_order(filters.sort)).offset((filters.page - 1) * PAGE_SIZE).limit(limit)
    cursor = filters.after or filters.before
    if cursor is not None:
        key = tuple_(Lead.created_at, Lead.id)
        value = tuple_(literal(cursor.created_at, Lead.created_at.type), literal(cursor.id, Lead.id.type))
        forward = (filters.sort == "newest") == (filters.after is not None)
        stmt = stmt.where(key < value if forward else key > value)
    return stmt.order_by(*_order(filters.sort, reverse=filters.before is not None)).limit(limit)


def count_query(coach: Coach, filters: LeadFilters, cap: int = COUNT_CAP) -> Select[Any]:
    """How many leads match, counting no further than ``cap + 1``."""
    matching = select(Lead.id).where(*where_clauses(coach, filters)).limit(cap + 1).subquery()
    return select(func.count()).select_from(matching)


def export_query(coach: Coach, filters: LeadFilters) -> Select[Any]:
    """Every matching lead, in the list's order (no cursor, no page)."""
    plain = replace(filters, after=None, before=None, page=1)
    return _with_owner(*EXPORT_COLUMNS).where(*where_clauses(coach, plain)).order_by(*_order(plain.sort))


def owner_choices_query() -> Select[Any]:
    return select(Coach.id, Coach.name).order_by(Coach.name, Coach.id)


def fetch_page(session: Session, coach: Coach, filters: LeadFilters) -> LeadPage:
    """Run the page query (and, unless the first page says it all, the capped count)."""
    rows = list(session.execute(list_query(coach, filters)).all())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if filters.before is not None:
        rows.reverse()
    first_page = filters.after is None and filters.before is None and filters.page == 1
    total = len(rows) if first_page and not more else session.execute(count_query(coach, filters)).scalar_one()
    if not filters.keyset:
        return LeadPage(rows, filters, has_next=more and filters.page < MAX_PAGE, has_prev=filters.page > 1,
                        total=total)
    has_next = more if filters.before is None else bool(rows)
    has_prev = more if filters.before is not None else filters.after is not None and bool(rows)
    return LeadPage(
        rows, filters, has_next=has_next, has_prev=has_prev, total=total,
        next_cursor=Cursor(rows[-1].created_at, rows[-1].id) if has_next else None,
        prev_cursor=Cursor(rows[0].created_at, rows[0].id) if has_prev else None,
    )


def iter_export(session: Session, stmt: Select[Any], batch: int = EXPORT_BATCH) -> Iterator[Sequence[Row[Any]]]:
    """Matching rows in batches, streamed from the database (server-side cursor on PostgreSQL).

    Run on the session's connection (Core), not through the ORM: the rows are plain column tuples,
    so nothing per row is built or tracked beyond the driver's tuple (half the export's time went
    there at 100,000 rows).
    """
    result = session.connection().execute(stmt.execution_options(yield_per=batch))
    try:
        yield from result.partitions()
    finally:
        result.close()
