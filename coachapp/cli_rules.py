"""``flask rules versions | export | import | publish | rollback``: rules versions from the shell.

The actor recorded in the audit log is ``CLI (user@host)``. ``import`` makes a draft (validated:
an invalid folder is refused with the loader's errors); ``publish`` and ``rollback`` change what
every process serves within ``RULES_LIVE_TTL`` seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from coachapp.assessment import RulesError, read_texts
from coachapp.cli import rules_cli
from coachapp.extensions import db
from coachapp.models import utcnow
from coachapp.rules_versions import services
from coachapp.rules_versions.services import Actor, VersionError


def _fail(errors: list[str]) -> NoReturn:
    for error in errors:
        click.echo(f"error: {error}", err=True)
    db.session.rollback()
    raise SystemExit(1)


@rules_cli.command("versions")
def rules_versions() -> None:
    """List the rules versions, newest first (the live one marked)."""
    rows = services.versions()
    if not any(v.status == "published" for v in rows):
        click.echo("live: the shipped rules files")
    for v in rows:
        mark = "*" if v.status == "published" else " "
        click.echo(f"{mark} {v.label:>5}  {v.status:<9} {v.content_hash}  {v.created_at:%Y-%m-%d %H:%M} "
                   f"{v.created_by}" + (f"  — {v.note}" if v.note else ""))


@rules_cli.command("export")
@click.argument("version")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def rules_export(version: str, folder: Path) -> None:
    """Write VERSION's rule files (a number, "live" or "files") into FOLDER (new or empty)."""
    try:
        label, texts = services.texts_of(version)
    except VersionError as exc:
        raise click.ClickException(str(exc)) from exc
    if folder.exists() and any(folder.iterdir()):
        raise click.ClickException(f"{folder} is not empty; export into a new or empty folder")
    for rel, text in sorted(texts.items()):
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    click.echo(f"exported {label} ({len(texts)} files) to {folder}; check it with: flask rules check --path {folder}")


@rules_cli.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--note", default="", help="What changed and why (shown in the versions list).")
def rules_import(folder: Path, note: str) -> None:
    """Import FOLDER as a new draft (validated like ``rules check``; refused when invalid)."""
    errors: list[str] = []
    texts = read_texts(folder, errors)
    if errors:
        _fail(errors)
    try:
        version = services.create_draft(texts, Actor.cli(), utcnow(), note=note or f"imported from {folder.name}")
    except RulesError as exc:
        _fail(exc.errors)
    except VersionError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    same = [v.label for v in services.versions() if v.content_hash == version.content_hash and v.id != version.id]
    click.echo(f"imported as draft {version.label} ({version.content_hash})"
               + (f"; same content as {', '.join(same)}" if same else ""))


@rules_cli.command("publish")
@click.argument("number")
def rules_publish(number: str) -> None:
    """Publish draft NUMBER: it becomes the live rules."""
    version = services.by_number(number)
    if version is None:
        raise click.ClickException(f"no rules version {number!r}")
    try:
        services.publish(version.id, Actor.cli(), utcnow())
    except RulesError as exc:
        _fail(exc.errors)
    except VersionError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"published {version.label} ({version.content_hash}): live now")


@rules_cli.command("rollback")
def rules_rollback() -> None:
    """Make the version live before the current one live again (or the shipped files)."""
    try:
        left, back = services.rollback(Actor.cli(), utcnow())
    except RulesError as exc:
        _fail(exc.errors)
    except VersionError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"rolled back from {left.label}: {back.label if back else 'the shipped rules files'} live now")
