"""Rules versions: create (import a folder, or copy a version into a draft), edit a draft,
publish, roll back; every change written to ``rules_audit``. Functions flush, the caller commits
(and, on an error, rolls back). Which version is served: ``coachapp.rules_store``.

Built for the editor and the preview of issue 15 (parts 2 and 3): a draft is editable
(``update_draft``), any version's ``Rules`` loads through the per-process cache by content hash
(``load``), ``validate`` lists a draft's problems as the loader names them (file and rule), and
``compare`` gives the unified diff of two versions (or a version and the shipped files).
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from coachapp import rules_store
from coachapp.assessment import Rules, RulesError, load_rules_from_texts, read_texts
from coachapp.extensions import db
from coachapp.models import Coach, RulesAudit, RulesVersion
from coachapp.rules_versions.diff import CopyDiff, FileDiff, diff_copy, diff_texts

#: The shipped files as a pseudo-version in comparisons.
FILES = "files"


class VersionError(ValueError):
    """A request about versions that cannot be done (not a draft, nothing to roll back …)."""


class PublishConflict(VersionError):
    """Another publish or rollback committed first (the partial unique index said so)."""


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str

    @classmethod
    def coach(cls, coach: Coach) -> Actor:
        return cls(coach.id, f"{coach.name} <{coach.email}>")

    @classmethod
    def cli(cls) -> Actor:
        try:
            who = f"{getpass.getuser()}@{socket.gethostname()}"
        except (KeyError, OSError):  # no user name in a bare container
            who = "unknown"
        return cls(None, f"CLI ({who})")


def validate(texts: Mapping[str, str]) -> list[str]:
    """Every problem in the texts, each naming its file and rule (empty: valid)."""
    return _checked(texts)[1]


def _checked(texts: Mapping[str, str]) -> tuple[Rules | None, list[str]]:
    try:
        return load_rules_from_texts(texts), []
    except RulesError as exc:
        return None, exc.errors


def problems(version: RulesVersion) -> list[str]:
    """A version's problems (empty: it loads); a valid one is loaded once per process (the cache)."""
    if version.content_hash == "invalid":
        return validate(version.files)
    try:
        load(version)
    except RulesError as exc:
        return exc.errors
    return []


def load(version: RulesVersion) -> Rules:
    """The version's compiled rules, cached per process by content hash; ``RulesError`` if invalid."""
    return rules_store.rules_for(version.content_hash, lambda: version.files)


def shipped_texts() -> dict[str, str]:
    """The texts of the rules folder the app ships with (``RULES_DIR``)."""
    return read_texts(Path(current_app.config["RULES_DIR"]), [])


def create_draft(texts: Mapping[str, str], actor: Actor, now: datetime, *, note: str = "",
                 based_on: RulesVersion | None = None, action: str = "import",
                 copy: Mapping[str, Any] | None = None) -> RulesVersion:
    """A new draft holding ``texts`` (and the email ``copy``), validated first (``RulesError``
    lists the problems; the copy is checked by the caller: ``copy_text``)."""
    texts = {str(k): str(v) for k, v in texts.items()}
    rules = load_rules_from_texts(texts)
    number = (db.session.execute(select(func.max(RulesVersion.number))).scalar() or 0) + 1
    version = RulesVersion(number=number, status="draft", files=texts, content_hash=rules.version,
                           copy={k: dict(v) for k, v in (copy or {}).items()},
                           note=note.strip()[:2000], based_on_id=based_on.id if based_on else None,
                           created_by=actor.label, created_at=now)
    db.session.add(version)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent create took the number
        raise VersionError("Another version was created at the same moment; try again.") from exc
    _audit(action, version, actor, now, {"content_hash": version.content_hash,
                                         **({"based_on": based_on.number} if based_on else {})})
    return version


def update_draft(version: RulesVersion, actor: Actor, now: datetime, *, files: Mapping[str, str] | None = None,
                 copy: Mapping[str, Any] | None = None, note: str | None = None, check: bool = True,
                 fields: Iterable[str] = ()) -> list[str]:
    """Change a draft (only a draft); returns the texts' problems. ``check``: refuse invalid
    texts (``RulesError``); without it they are stored and the draft cannot be published until
    fixed (an editor saving work in progress). ``fields``: what the editor changed, in words
    ("assessment: question desk_hours text"), recorded in the audit row's detail."""
    if version.status != "draft":
        raise VersionError(f"{version.label} is {version.status}: only a draft can be changed.")
    problems: list[str] = []
    changed: list[str] = []
    if files is not None:
        texts = {str(k): str(v) for k, v in files.items()}
        rules, problems = _checked(texts)
        if problems and check:
            raise RulesError(problems)
        changed = sorted(p for p in set(texts) | set(version.files) if texts.get(p) != version.files.get(p))
        version.files = texts
        version.content_hash = rules.version if rules is not None else "invalid"
    if copy is not None:
        version.copy = dict(copy)
        changed.append("copy")
    if note is not None:
        version.note = note.strip()[:2000]
    detail: dict[str, Any] = {"changed": changed, "problems": len(problems)}
    if fields:
        detail["fields"] = list(fields)
    _audit("edit", version, actor, now, detail)
    db.session.flush()
    return problems


def live_version() -> RulesVersion | None:
    return db.session.execute(select(RulesVersion).where(RulesVersion.status == "published")).scalar_one_or_none()


def rollback_target(live: RulesVersion | None) -> RulesVersion | None:
    """Where a rollback from ``live`` goes: the version live before it (None: the shipped files)."""
    return db.session.get(RulesVersion, live.previous_live_id) if live and live.previous_live_id else None


def publish(version_id: int, actor: Actor, now: datetime) -> RulesVersion:
    """Make a draft live, validated again (``RulesError`` with the loader's problems).

    Exactly one version stays live whatever runs at the same time: the draft's row is locked
    (the same draft published twice: the second finds it published), the live row too, and the
    partial unique index ``uq_rules_versions_live`` refuses a second ``published`` row
    (``PublishConflict``; the caller rolls back)."""
    version = db.session.execute(select(RulesVersion).where(RulesVersion.id == version_id)
                                 .with_for_update()).scalar_one_or_none()
    if version is None:
        raise VersionError("No such rules version.")
    if version.status != "draft":
        raise VersionError(f"{version.label} is {version.status}: only a draft can be published.")
    version.content_hash = load(version).version  # raises RulesError: an invalid draft stays a draft
    current = _lock_live()
    if current is not None:
        current.status = "retired"
        _flush()  # before the new live row: the unique index checks each row as it is written
    version.status = "published"
    version.previous_live_id = current.id if current else None
    version.published_by, version.published_at = actor.label, now
    _flush()
    _audit("publish", version, actor, now, {"from": current.number if current else FILES, "to": version.number,
                                            "content_hash": version.content_hash})
    rules_store.changed_in(db.session)
    return version


def rollback(actor: Actor, now: datetime, expected_live: int | None = None) -> tuple[RulesVersion, RulesVersion | None]:
    """Make the version live before the current one live again (None: the shipped files).

    ``expected_live``: the live version's id the person saw; a rollback is refused when another
    publish or rollback happened since (a double click rolls back once)."""
    current = _lock_live()
    if current is None:
        raise VersionError("Nothing to roll back: the shipped rules files are live.")
    if expected_live is not None and current.id != expected_live:
        raise PublishConflict(f"The live version changed since you looked ({current.label} is live now).")
    target = rollback_target(current)
    if target is not None:
        load(target)  # still valid with this code (RulesError otherwise)
    current.status = "retired"
    _flush()
    if target is not None:
        target.status = "published"
        target.published_by, target.published_at = actor.label, now
        _flush()
    _audit("rollback", target or current, actor, now,
           {"from": current.number, "to": target.number if target else FILES})
    rules_store.changed_in(db.session)
    return current, target


def _lock_live() -> RulesVersion | None:
    return db.session.execute(select(RulesVersion).where(RulesVersion.status == "published")
                              .with_for_update()).scalar_one_or_none()


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise PublishConflict("Another version was published at the same moment; look again.") from exc


def _audit(action: str, version: RulesVersion | None, actor: Actor, now: datetime, detail: dict[str, Any]) -> None:
    db.session.add(RulesAudit(action=action, version_id=version.id if version else None, actor_id=actor.id,
                              actor=actor.label, detail=detail, created_at=now))


def texts_of(which: str) -> tuple[str, Mapping[str, str]]:
    """(label, texts) of ``"files"``, ``"live"`` or a version number; ``VersionError`` when there is none."""
    label, texts, _copy = contents_of(which)
    return label, texts


def contents_of(which: str) -> tuple[str, Mapping[str, str], Mapping[str, Any]]:
    """(label, texts, email copy) of ``"files"`` (no copy), ``"live"`` or a version number."""
    if which == "live":
        live = live_version()
        which = str(live.number) if live else FILES
    if which == FILES:
        return "shipped files", shipped_texts(), {}
    version = by_number(which)
    if version is None:
        raise VersionError(f"No rules version {which!r}.")
    return version.label, version.files, version.copy or {}


def by_number(number: str | int) -> RulesVersion | None:
    try:
        n = int(str(number).lstrip("vV"))
    except ValueError:
        return None
    if not 0 < n <= 2**31 - 1:  # an INTEGER column: PostgreSQL refuses a larger literal
        return None
    return db.session.execute(select(RulesVersion).where(RulesVersion.number == n)).scalar_one_or_none()


def compare(old: str, new: str) -> tuple[str, str, list[FileDiff]]:
    """The unified diff per file from ``old`` to ``new`` (each ``"files"`` or a version number)."""
    old_label, old_texts = texts_of(old)
    new_label, new_texts = texts_of(new)
    return old_label, new_label, diff_texts(old_texts, new_texts, old_label.replace(" ", "-"),
                                            new_label.replace(" ", "-"))


def compare_copy(old: str, new: str) -> list[CopyDiff]:
    """The email copy changes from ``old`` to ``new``, per template (the shipped files have none)."""
    old_label, _texts, old_copy = contents_of(old)
    new_label, _texts, new_copy = contents_of(new)
    return diff_copy(old_copy, new_copy, old_label.replace(" ", "-"), new_label.replace(" ", "-"))


def versions() -> list[RulesVersion]:
    return list(db.session.execute(select(RulesVersion).order_by(RulesVersion.number.desc())).scalars())


def audit_log(limit: int = 200) -> list[RulesAudit]:
    return list(db.session.execute(select(RulesAudit).order_by(RulesAudit.id.desc()).limit(limit)).scalars())


def by_hash(hashes: Iterable[str | None]) -> dict[str, RulesVersion]:
    """Content hash → the version it names (the lowest-numbered one ever published, else the
    lowest-numbered one): what a submission's or email's ``rules_version`` came from."""
    wanted = {h for h in hashes if h}
    if not wanted:
        return {}
    rows = db.session.execute(select(RulesVersion).where(RulesVersion.content_hash.in_(wanted))
                              .order_by(RulesVersion.published_at.is_(None), RulesVersion.number)).scalars()
    out: dict[str, RulesVersion] = {}
    for row in rows:
        out.setdefault(row.content_hash, row)
    return out
