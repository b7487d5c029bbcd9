"""Flask CLI: ``flask rules check``, ``flask outbox sweep``, ``flask assessments purge``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from coachapp.assessment import RulesError, load_rules

rules_cli = AppGroup("rules", help="Rules in rules/: validate and describe.")
outbox_cli = AppGroup("outbox", help="The email outbox.")
assessments_cli = AppGroup("assessments", help="Assessment housekeeping.")


@rules_cli.command("check")
@click.option("--path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Rules folder (default: RULES_DIR).")
def rules_check(path: Path | None) -> None:
    """Validate every rule file; exit 1 listing each problem by file and rule id."""
    folder = path or Path(current_app.config["RULES_DIR"])
    try:
        rules = load_rules(folder)
    except RulesError as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from exc
    assessment = rules.assessment
    click.echo(f"rules OK: {folder}")
    click.echo(f"  version       {rules.version}")
    click.echo(f"  assessment    {assessment.id} v{assessment.version}: "
               f"{len(assessment.sections)} steps, {len(assessment.questions)} questions, "
               f"~{assessment.core_taps()} taps in the core")


@outbox_cli.command("sweep")
def outbox_sweep() -> None:
    """Publish every due outbox row to the broker now."""
    from coachapp.emails import outbox

    click.echo(f"published {len(outbox.sweep())} message(s)")


@assessments_cli.command("purge")
def assessments_purge() -> None:
    """Delete abandoned anonymous assessments past ABANDONED_RETENTION_DAYS."""
    from coachapp.leads.assessments import purge_abandoned

    click.echo(f"deleted {purge_abandoned()} abandoned assessment(s)")


def init_app(app: Flask) -> None:
    for group in (rules_cli, outbox_cli, assessments_cli):
        app.cli.add_command(group)
