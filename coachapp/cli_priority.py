"""``flask priority fit``: fit the priority weights to outcomes and propose a priority.yaml diff.

Prints the counts, the held-out AUCs and the per-rule table; writes the proposed diff to
``--out`` (or prints it), and keeps the fit like the page's (the page then shows it). It never
writes into the rules folder: applying the diff is the owner's decision (``git apply`` /
``patch -p1``, then ``flask rules check``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

priority_cli = AppGroup("priority", help="Lead priority: fit the weights to outcomes (proposals only).")


def _auc(value: float | None, interval=None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" + (f" (95% {interval.lo:.3f}–{interval.hi:.3f})" if interval is not None else "")


def _points(value: float) -> str:
    return f"{value:+g}" if value else "0"


def report_lines(report) -> list[str]:
    """The report as plain text lines (shared by nothing else: the page has its own template)."""
    from coachapp.leads.weights import METHOD

    fit, counts = report.fit, report.counts
    lines = [f"method: {METHOD}",
             f"leads with an outcome: {counts.with_outcome} ({counts.converted} converted, "
             f"{counts.not_converted} not); left out: {counts.undecided} not decided yet (younger than "
             f"{report.decided_after_days} days), {counts.clinician_first} clinician-first"
             + (f"; created since {report.since.isoformat()}" if report.since else "")]
    if not fit.enough:
        return [*lines, fit.message]
    lines += [f"training: {fit.train} leads ({fit.train_converted} converted); held out: {fit.held_out} "
              f"({fit.held_out_converted} converted)",
              f"held-out AUC by tier, current points:   {_auc(fit.auc_current, fit.ci_current)}",
              f"held-out AUC by tier, suggested points: {_auc(fit.auc_suggested, fit.ci_suggested)}",
              f"change: {_auc((fit.auc_suggested or 0) - (fit.auc_current or 0), fit.ci_change)}",
              f"the fitted model itself (reference):    {_auc(fit.auc_model)}",
              "",
              f"{'rule':<28} {'axis':<10} {'current':>7} {'suggested':>9} {'change':>6} {'coef':>7} "
              f"{'matched':>7} {'conv.':>6}  note"]
    for r in fit.rules:
        coef = f"{r.coef:+.2f}" if r.coef is not None else "—"
        rate = f"{r.matched_rate:.0%}" if r.matched_rate is not None else "—"
        lines.append(f"{r.rule_id:<28} {r.axis:<10} {r.current:>7g} {r.suggested:>9g} {_points(r.change):>6} "
                     f"{coef:>7} {r.matched:>7} {rate:>6}  {r.note}")
    return lines


@priority_cli.command("fit")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only leads created on or after this date (UTC), e.g. 2026-01-01.")
@click.option("--decided-after-days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="A lead this old with no booking counts as not converted (younger ones are left out).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the proposed priority.yaml diff to this file (default: print it). Not inside rules/.")
def priority_fit(since: datetime | None, decided_after_days: int, out: Path | None) -> None:
    """Fit the priority rules' points to outcomes; print the table and a proposed diff (never applied)."""
    from coachapp.leads.weight_fits import fit_now
    from coachapp.rules_store import get_rules

    rules_dir = Path(current_app.config["RULES_DIR"]).resolve()
    if out is not None and out.resolve().is_relative_to(rules_dir):
        raise click.BadParameter("the proposed diff is never written into the rules folder", param_hint="--out")
    report, source = fit_now(get_rules(), str(rules_dir), since.date() if since else None, decided_after_days,
                             "flask priority fit")
    click.echo(f"rules: {source} (the live rules; the diff is of its leads/priority.yaml)")
    for line in report_lines(report):
        click.echo(line)
    if not report.fit.enough:
        return
    if not report.diff:
        click.echo("\nno change to propose: the suggested points equal the current ones")
        return
    if out is None:
        click.echo("\nproposed diff (not applied; review, then `git apply` it and run `flask rules check`):\n")
        click.echo(report.diff, nl=False)
        return
    out.write_text(report.diff, encoding="utf-8")
    click.echo(f"\nproposed diff written to {out} (not applied; review, then `git apply` it and run "
               "`flask rules check`)")
