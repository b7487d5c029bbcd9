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
