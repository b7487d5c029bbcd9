"""``flask rules check`` and friends."""

from __future__ import annotations

import shutil

from tests.conftest import ROOT


def test_rules_check_passes_on_the_real_rules(app):
    result = app.test_cli_runner().invoke(args=["rules", "check"])
    assert result.exit_code == 0, result.output
    assert "rules OK" in result.output
    assert "sha256:" in result.output


def test_rules_check_names_the_file_and_rule_on_error(app, tmp_path):
    broken = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", broken)
    target = broken / "assessment" / "runner_assessment.yaml"
    target.write_text(target.read_text().replace("id: desk_hours", "id: desk_hours\n        colour: blue", 1))
    result = app.test_cli_runner().invoke(args=["rules", "check", "--path", str(broken)])
    assert result.exit_code == 1
    assert "assessment/runner_assessment.yaml" in result.output
    assert "colour" in result.output


def test_coaches_create_and_list(app):
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import Coach
    from tests.conftest import clean_tables

    clean_tables(app)
    runner = app.test_cli_runner()
    hours = "mon-fri 09:00-12:00 13:00-18:00; sat 08:00-11:00"
    result = runner.invoke(args=["coaches", "create", "--name", "Brian Murray", "--email", "Brian@Motive.example",
                                 "--time-zone", "America/Chicago", "--hours", hours,
                                 "--services", "mobility_coaching,kinstretch", "--no-in-person", "--owner"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        coach = db.session.execute(select(Coach)).scalar_one()
        assert coach.email == "brian@motive.example"
        assert coach.working_hours["mon"] == ["09:00-12:00", "13:00-18:00"]
        assert coach.working_hours["sat"] == ["08:00-11:00"] and "sun" not in coach.working_hours
        assert coach.services == ["mobility_coaching", "kinstretch"]
        assert (coach.in_person, coach.online, coach.is_owner) == (False, True, True)
    listing = runner.invoke(args=["coaches", "list"])
    assert "Brian Murray" in listing.output and "owner" in listing.output
    duplicate = runner.invoke(args=["coaches", "create", "--name", "B", "--email", "brian@motive.example"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    clean_tables(app)


def test_coaches_create_refuses_bad_input(app):
    runner = app.test_cli_runner()
    for args, message in (
        (["--hours", "someday 9-5"], "days are mon"),
        (["--hours", "mon 17:00-09:00"], ""),
        (["--time-zone", "Mars/Olympus"], ""),
        (["--services", "yoga"], "Unknown service"),
        (["--email", "not-an-email"], ""),
    ):
        result = runner.invoke(args=["coaches", "create", "--name", "X", "--email", "x@motive.example", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output


def test_coaches_set_password_checks_strength_and_ends_sessions(app):
    from sqlalchemy import select

    from coachapp.auth.passwords import verify_password
    from coachapp.extensions import db
    from coachapp.models import Coach
    from tests.conftest import clean_tables

    clean_tables(app)
    runner = app.test_cli_runner()
    strong = "Long-enough-pass-42"
    result = runner.invoke(args=["coaches", "create", "--name", "Sam", "--email", "sam@motive.example", "--password"],
                           input=f"short\nshort\n{strong}\n{strong}\n")
    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    with app.app_context():
        coach = db.session.execute(select(Coach)).scalar_one()
        assert verify_password(coach.password_hash, strong)
        token = coach.session_token
    newer = "Another-long-pass-43"
    result = runner.invoke(args=["coaches", "set-password", "--email", "SAM@motive.example"],
                           input=f"{newer}\n{newer}\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        coach = db.session.execute(select(Coach)).scalar_one()
        assert verify_password(coach.password_hash, newer) and not verify_password(coach.password_hash, strong)
        assert coach.session_token != token
    assert runner.invoke(args=["coaches", "set-password", "--email", "nobody@x.example"]).exit_code == 1
    clean_tables(app)
