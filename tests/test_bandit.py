"""bandit over ``coachapp``: no finding left unexplained.

A finding is fixed, or marked on its line as ``# nosec BXXX  # why it is safe here`` — a
specific test id and a reason (a bare ``# nosec`` would silence everything on the line, and a
reason after the id keeps bandit from reading it as more test names).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.util import find_spec

import pytest

from tests.conftest import ON_CI, ROOT

NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
JUSTIFIED = re.compile(r"^:?\s*B\d{3}(?:[ ,]+B\d{3})*\s+#\s*\S.{5,}$")


def _bandit_installed() -> bool:
    if find_spec("bandit") is not None:
        return True
    if ON_CI:
        pytest.fail("bandit is required on CI (pip install -e '.[test]')")
    return False


def test_bandit_finds_nothing_unjustified_in_coachapp():
    if not _bandit_installed():
        pytest.skip("bandit not installed")
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "coachapp", "-f", "json", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["errors"] == []
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert findings == [], "fix these, or justify each inline: # nosec BXXX  # reason\n" + "\n".join(findings)


def test_every_nosec_names_its_test_and_says_why():
    vague = []
    for path in sorted((ROOT / "coachapp").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = NOSEC.search(line)
            if found and not JUSTIFIED.match(found.group("rest")):
                vague.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert vague == []
