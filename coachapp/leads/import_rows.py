"""Pure: a CSV file of leads → decoded text, a guessed column mapping, and one clean row each.

No database and no Flask here: the importer service (``leads/importer.py``) passes in what
needs the outside world (the email and phone normalisers, the stage list). A row is either an
``ImportRow`` or a ``Rejected`` with the reason the report shows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: field → label, in the order the mapping form shows them
FIELDS = {
    "email": "Email (required)",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "source": "Source",
    "stage": "Stage",
    "notes": "Notes",
    "consent_marketing": "Opted in to emails (yes/no)",
    "consent_marketing_at": "Date they opted in",
    "first_seen": "First seen (date)",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "tags": "Tags",
}
#: a header, lower-cased with everything but letters and digits removed → field
ALIASES = {
    "email": "email", "emailaddress": "email", "mail": "email", "email_display": "email",
    "firstname": "first_name", "first": "first_name", "givenname": "first_name", "name": "first_name",
    "lastname": "last_name", "last": "last_name", "surname": "last_name", "familyname": "last_name",
    "phone": "phone", "phonenumber": "phone", "mobile": "phone", "telephone": "phone", "tel": "phone",
    "source": "source", "leadsource": "source", "utmsource": "source",
    "stage": "stage", "status": "stage", "pipelinestage": "stage",
    "notes": "notes", "note": "notes", "comments": "notes", "comment": "notes",
    "consentmarketing": "consent_marketing", "marketingconsent": "consent_marketing", "optin": "consent_marketing",
    "optedin": "consent_marketing", "emailoptin": "consent_marketing", "subscribed": "consent_marketing",
    "consentmarketingat": "consent_marketing_at", "marketingconsentat": "consent_marketing_at",
    "marketingconsentdate": "consent_marketing_at", "optindate": "consent_marketing_at",
    "optedinat": "consent_marketing_at", "subscribedat": "consent_marketing_at",
    "createdat": "first_seen", "firstseen": "first_seen", "created": "first_seen", "datecreated": "first_seen",
    "utmmedium": "utm_medium", "utmcampaign": "utm_campaign", "campaign": "utm_campaign",
    "tags": "tags", "tag": "tags", "labels": "tags",
}
YES = frozenset({"yes", "y", "true", "1", "x", "opted in", "optedin", "subscribed", "ja", "oui", "si", "sí"})
NO = frozenset({"", "no", "n", "false", "0", "opted out", "unsubscribed"})
PREVIEW_ROWS = 5
LIMITS = {"first_name": 80, "last_name": 80, "source": 120, "utm_medium": 120, "utm_campaign": 200,
          "notes": 5000, "tags": 500}


class FileProblem(ValueError):
    """The file cannot be read as a CSV of leads; the message is for the person uploading it."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # "utf-8" or "windows-1252"
    delimiter: str
    header: list[str]
    total_rows: int
    notice: str | None = None


@dataclass(frozen=True)
class ImportRow:
    line: int  # the row's number in the file (the header is row 1)
    email: str  # normalised key
    email_display: str
    values: dict[str, str | None]  # first_name, last_name, phone, source, utm_medium, utm_campaign
    stage: str | None
    notes: str | None
    tags: list[str]
    consent_marketing_at: datetime | None
    first_seen: datetime | None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rejected:
    line: int
    email: str
    reason: str


def decode(raw: bytes) -> Decoded:
    """The file's text (UTF-8 with or without a BOM; otherwise Windows-1252, Excel's "CSV" on a
    Western PC, a superset of Latin-1 — said in the notice), its delimiter and header."""
    if not raw.strip():
        raise FileProblem("The file is empty.")
    if b"\x00" in raw[:4096]:
        raise FileProblem("This is not a text file. Save the sheet as CSV (UTF-8) and upload that.")
    notice = None
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("cp1252", errors="replace"), "windows-1252"
        notice = ("The file is not UTF-8, so it was read as Windows-1252 (Latin-1), what Excel writes on a "
                  "Western PC. Check the accented names in the preview; if they look wrong, save as "
                  "\"CSV UTF-8\" and upload again.")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    if "@" in first_line:
        raise FileProblem("The first row should name the columns (Email, First name, …).")
    rows = iter_rows(text, delimiter)
    try:
        header = [cell.strip() for cell in next(rows)]
        total = sum(1 for row in rows if any(cell.strip() for cell in row))
    except csv.Error as exc:
        raise FileProblem(f"The file is not a readable CSV ({exc}).") from exc
    if delimiter == ";":
        notice = ((notice + " ") if notice else "") + "Columns are separated by semicolons (Excel's CSV in " \
            "many countries); that is fine."
    return Decoded(text, encoding, delimiter, header, total, notice)


def iter_rows(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def guess_mapping(header: Sequence[str]) -> dict[str, str]:
    """Column index (as a string, like the form sends it) → field, from the headers; each field
    once, the first column that names it wins."""
    mapping: dict[str, str] = {}
    for index, name in enumerate(header):
        key = re.sub(r"[^a-z0-9]", "", name.lower())
        found = ALIASES.get(key)
        if found and found not in mapping.values():
            mapping[str(index)] = found
    return mapping


def check_mapping(mapping: dict[str, str], columns: int) -> str | None:
    """Why this mapping cannot be used, or None."""
    fields = [f for f in mapping.values() if f]
    if "email" not in fields:
        return "Choose the column that holds the email address."
    doubles = sorted({FIELDS[f] for f in fields if fields.count(f) > 1})
    if doubles:
        return f"Each field can come from one column only: {', '.join(doubles)}."

    def fits(key: str, field: str) -> bool:  # a column number of this file (ASCII digits: not "²")
        number = key.isascii() and key.isdigit() and len(key) <= 6 and int(key) < columns
        return number and (not field or field in FIELDS)

    if not all(fits(k, f) for k, f in mapping.items()):
        return "The mapping does not fit this file; choose the columns again."
    return None


def _date(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_row(line: int, cells: Sequence[str], mapping: dict[str, str], *, stages: Sequence[str],
             email: Callable[[str], tuple[str, str]], phone: Callable[[str], str | None],
             clean: Callable[[str, int], str | None], now: datetime) -> ImportRow | Rejected:
    """One data row → an ``ImportRow`` or the reason it is rejected. ``email`` returns (key,
    display) or raises ``ValueError``; ``phone`` returns E.164 or raises ``ValueError``;
    ``clean`` drops control characters and cuts to a length."""
    got = {f: _plain(cells[int(i)]) if int(i) < len(cells) else "" for i, f in mapping.items() if f}
    raw_email = got.get("email", "")
    if not raw_email:
        return Rejected(line, "", "no email address")
    try:
        key, display = email(raw_email)
    except ValueError:
        return Rejected(line, raw_email[:254], "invalid email address")
    stage = None
    if got.get("stage"):
        stage = re.sub(r"[\s-]+", "_", got["stage"].lower())
        if stage not in stages:
            return Rejected(line, display, f"unknown stage \"{got['stage'][:40]}\" (use one of: {', '.join(stages)})")
    warnings: list[str] = []
    values = {f: clean(got.get(f, ""), LIMITS[f]) or None
              for f in ("first_name", "last_name", "source", "utm_medium", "utm_campaign")}
    values["phone"] = None
    if got.get("phone"):
        try:
            values["phone"] = phone(got["phone"])
        except ValueError:
            warnings.append("phone not recognised, left out")
    consent_at = _consent(got, now, warnings)
    first_seen = _date(got.get("first_seen", ""))
    if first_seen is not None and first_seen > now:
        first_seen = None
    tags = [t for t in (clean(part, 60) for part in re.split(r"[,;|]", got.get("tags", ""))) if t]
    return ImportRow(line, key, display, values, stage, clean(got.get("notes", ""), LIMITS["notes"]) or None,
                     tags[:20], consent_at, first_seen, warnings)


def _plain(cell: str) -> str:
    """A cell without the apostrophe a spreadsheet export puts before = + - @ (ours does: see
    ``dashboard.leads_list.csv_safe``), so an exported phone ``'+1512…`` reads as a phone again."""
    cell = cell.strip()
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@") else cell


def _consent(got: dict[str, str], now: datetime, warnings: list[str]) -> datetime | None:
    """Marketing consent only when the file says so, with the date it was given: a yes without
    a date, a date with a "no", or a date that cannot be read records nothing (never invented)."""
    said = got.get("consent_marketing", "").lower()
    raw_at = got.get("consent_marketing_at", "")
    if said in NO and (said or not raw_at):  # an explicit no, or nothing said at all
        return None
    if said and said not in YES:
        warnings.append(f"opt-in \"{said[:20]}\" not understood (use yes or no): no consent recorded")
        return None
    at = _date(raw_at)
    if at is None:
        warnings.append("opt-in without a readable date (YYYY-MM-DD): no consent recorded")
        return None
    if at > now:
        warnings.append("opt-in date in the future: no consent recorded")
        return None
    return at
