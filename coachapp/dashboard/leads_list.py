"""The leads list, its filters and the CSV export.

``GET /dashboard/leads`` renders one page; ``GET /dashboard/leads.csv`` streams every lead
matching the same filters. Both are adapters: parse the URL arguments into ``LeadFilters``,
call ``queries``, render. Every query runs inside ``lead_scope`` (see ``queries.where_clauses``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC
from typing import Any

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from coachapp.dashboard import bp
from coachapp.dashboard.queries import (
    SORTS,
    FilterChoices,
    export_query,
    fetch_page,
    iter_export,
    owner_choices_query,
    parse_filters,
)
from coachapp.extensions import db
from coachapp.models import STAGES, Coach, utcnow
from coachapp.rules_store import get_rules

CSV_HEADER = ("id", "created_at", "first_name", "last_name", "email", "phone", "stage", "tier", "fit", "urgency",
              "engagement", "top_priority", "needs_clinician", "owner", "source", "utm_campaign")
#: A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset(FORMULA_STARTS)


def _coach() -> Coach:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _choices() -> FilterChoices:
    rules = get_rules()
    return FilterChoices(tiers=tuple(sorted(rules.leads.tiers)),
                         regions={region.id: region.label for region in rules.regions.regions})


@bp.get("/leads")
def leads() -> str:
    """One page of the leads this coach may see, filtered, searched and sorted from the URL."""
    coach = _coach()
    choices = _choices()
    filters, notices = parse_filters(request.args, choices)
    page = fetch_page(db.session, coach, filters)
    owners = db.session.execute(owner_choices_query()).all() if coach.is_owner else []
    return render_template(
        "dashboard/leads.html", page=page, filters=filters, args=filters.args(), notices=notices,
        stages=STAGES, tiers=choices.tiers, regions=choices.regions, sorts=SORTS, owners=owners,
    )


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas: a text cell starting with = + - @ tab or CR gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _text(value: str | None) -> str:
    """A text cell: empty for NULL, formula-neutralised like ``csv_safe`` (one set lookup, no call)."""
    if not value:
        return ""
    return "'" + value if value[0] in _FORMULA_CHARS else value


def csv_record(row: Sequence[Any]) -> tuple[Any, ...]:
    """One export row (``queries.EXPORT_COLUMNS`` then the owner's name), in CSV_HEADER order.

    Positional and branch-light: this runs 100,000 times for a full export. ``created_at`` is
    the driver's value (naive UTC on SQLite, aware on PostgreSQL; see ``queries.EXPORT_COLUMNS``).
    Text cells go through ``_text`` (same rule as ``csv_safe``), numbers stay numbers, NULL is empty.
    """
    (lead_id, created_at, first_name, last_name, email, phone, stage, tier, fit, urgency, engagement,
     top_priority, needs_clinician, source, utm_campaign, owner_name) = row
    return (
        lead_id, (created_at.astimezone(UTC) if created_at.utcoffset() else created_at).isoformat(
            timespec="seconds")[:19] + "Z", _text(first_name),
        _text(last_name), _text(email), _text(phone), _text(stage), _text(tier),
        "" if fit is None else fit, "" if urgency is None else urgency, "" if engagement is None else engagement,
        _text(top_priority), "yes" if needs_clinician else "no", _text(owner_name), _text(source),
        _text(utm_campaign),
    )


def csv_chunks(batches: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text, one chunk per batch of rows: memory stays constant whatever the row count.

    One ``csv.writer`` on one buffer, emptied after each chunk; rows arrive as plain tuples from
    a server-side cursor (``queries.iter_export``), never as ORM objects.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # UTF-8 BOM: spreadsheet programs then read names like "Zoë" correctly
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    record = csv_record
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([record(row) for row in batch])
        yield buffer.getvalue()


@bp.get("/leads.csv")
def leads_export() -> Response:
    """Every lead matching the list's filters (same access scope), streamed as CSV."""
    filters, _ = parse_filters(request.args, _choices())
    stmt = export_query(_coach(), filters)
    body = stream_with_context(csv_chunks(iter_export(db.session, stmt)))
    # The filename is built here from the date only: nothing from the request reaches the header.
    filename = f"leads-{utcnow():%Y-%m-%d}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })
