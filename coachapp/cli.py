"""Flask CLI: ``flask rules check`` (and the rules versions: ``coachapp/cli_rules.py``),
``flask outbox sweep``, ``flask assessments purge``, ``flask coaches …``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from coachapp.assessment import RulesError, load_rules_from_texts, read_texts

rules_cli = AppGroup("rules", help="Rules: validate a folder; versions in the database (export, import, "
                                   "publish, rollback).")
outbox_cli = AppGroup("outbox", help="The email outbox.")
assessments_cli = AppGroup("assessments", help="Assessment housekeeping.")
coaches_cli = AppGroup("coaches", help="Coaches: who covers what, and when.")

@rules_cli.command("check")
@click.option("--path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Rules folder (default: RULES_DIR).")
def rules_check(path: Path | None) -> None:
    """Validate every rule file (and an exported email_copy.yaml); exit 1 listing each problem by file and rule id."""
    from coachapp.rules_versions import copy_text

    folder = path or Path(current_app.config["RULES_DIR"])
    errors: list[str] = []
    texts = read_texts(folder, errors)
    copy, copy_errors = copy_text.from_yaml(texts.pop(copy_text.COPY_FILE, ""))
    try:
        if errors:
            raise RulesError(errors)
        rules = load_rules_from_texts(texts)
        if copy_errors:
            raise RulesError(copy_errors)
    except RulesError as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from exc
    assessment = rules.assessment
    click.echo(f"rules OK: {folder}")
    click.echo(f"  version       {rules.version}" + (f" (+ email copy of {len(copy)} emails)" if copy else ""))
    click.echo(f"  assessment    {assessment.id} v{assessment.version}: "
               f"{len(assessment.screens)} screens, {len(assessment.questions)} questions; the core takes "
               f"~{assessment.core_seconds()} s and ~{assessment.core_taps()} taps (budget "
               f"{assessment.budget.max_core_seconds:.0f} s, {assessment.budget.max_core_taps:.0f} taps)")
    sequences = rules.sequences.sequences
    click.echo(f"  sequences     {len(sequences)}: " + ", ".join(
        f"{s.id} ({len(s.steps)} steps, {s.audience})" for s in sequences))
    booking = rules.booking
    click.echo(f"  booking       slot picking {'on' if booking.slot_picking else 'off (coaches call back)'}: "
               f"{booking.slot_minutes} min slots, {booking.buffer_minutes} min buffer, "
               f"{booking.notice_minutes / 60:g} h notice, {booking.days_ahead} days ahead")
    click.echo(f"  insights      a rate needs at least {rules.insights.minimum_leads} leads behind it")


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


@coaches_cli.command("create")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--time-zone", default="America/Chicago", show_default=True)
@click.option("--hours", default="mon-fri 09:00-17:00", show_default=True,
              help="Working hours in the coach's time zone, e.g. 'mon-fri 09:00-12:00 13:00-17:00; sat 09:00-12:00'.")
@click.option("--services", default="personal_training,mobility_coaching,kinstretch,online_coaching",
              show_default=True, help="Comma-separated services the coach covers.")
@click.option("--in-person/--no-in-person", default=True, show_default=True)
@click.option("--online/--no-online", default=True, show_default=True)
@click.option("--owner", is_flag=True, help="The fallback owner: gets leads nobody else covers; sees everything.")
@click.option("--password", is_flag=True, help="Prompt for a sign-in password now.")
def coaches_create(name: str, email: str, time_zone: str, hours: str, services: str,
                   in_person: bool, online: bool, owner: bool, password: bool) -> None:
    """Add a coach."""
    from coachapp.coaches import CoachData, CoachError, CoachExists, create_coach
    from coachapp.extensions import db

    data = CoachData(name=name, email=email, time_zone=time_zone, hours=hours,
                     services=[s.strip() for s in services.split(",") if s.strip()],
                     in_person=in_person, online=online, is_owner=owner)
    try:
        coach = create_coach(data)
    except CoachExists as exc:
        raise click.ClickException(str(exc)) from exc
    except CoachError as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{exc.field.replace('_', '-')}") from exc
    if password:
        coach.password_hash = _prompt_password()
    db.session.commit()
    click.echo(f"coach {coach.id} created: {coach.name} <{coach.email}> {time_zone} {hours}; "
               f"{', '.join(coach.services)}{'; owner' if owner else ''}")


def _prompt_password() -> str:
    from coachapp.auth.passwords import hash_password, password_problem

    while True:
        value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problem = password_problem(value)
        if problem is None:
            return hash_password(value)
        click.echo(problem, err=True)


@coaches_cli.command("set-password")
@click.option("--email", required=True)
def coaches_set_password(email: str) -> None:
    """Set a coach's sign-in password (ends their current sessions)."""
    import secrets

    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import Coach

    coach = db.session.execute(select(Coach).where(Coach.email == email.strip().lower())).scalar_one_or_none()
    if coach is None:
        raise click.ClickException(f"no coach with email {email}")
    coach.password_hash = _prompt_password()
    coach.session_token = secrets.token_urlsafe(32)  # ends their current sessions
    db.session.commit()
    click.echo(f"password set for {coach.email}")


@coaches_cli.command("list")
def coaches_list() -> None:
    """List coaches."""
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import Coach

    for c in db.session.execute(select(Coach).order_by(Coach.id)).scalars():
        flags = [f for f, on in (("owner", c.is_owner), ("in person", c.in_person), ("online", c.online),
                                 ("inactive", not c.active)) if on]
        click.echo(f"{c.id:>3}  {c.name:<24} {c.email:<32} {c.time_zone:<20} {', '.join(c.services)}  "
                   f"[{', '.join(flags)}]")


def init_app(app: Flask) -> None:
    from coachapp import cli_rules  # noqa: F401  (adds the versions' commands to ``rules``)
    from coachapp.cli_priority import priority_cli

    for group in (rules_cli, outbox_cli, assessments_cli, coaches_cli, priority_cli):
        app.cli.add_command(group)
