"""Dependencies point one way (web → services → pure domain → models), checked on the source.

Every ``import`` counts, including ones inside functions: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "coachapp"
WEB = ("coachapp.dashboard", "coachapp.public", "coachapp.api", "coachapp.auth", "coachapp.webhooks")
#: The pure domain: rules, scoring, planning, working time. No Flask, no database, no services.
PURE = ("coachapp.assessment", "coachapp.leads.priority", "coachapp.leads.slots", "coachapp.session_calendar",
        "coachapp.analytics", "coachapp.leads.assignment", "coachapp.leads.task_rules",
        "coachapp.leads.worktime", "coachapp.leads.screens", "coachapp.leads.booking_events",
        "coachapp.followups.policy", "coachapp.leads.import_rows", "coachapp.webhooks_out.signing",
        "coachapp.leads.weights", "coachapp.leads.weights_diff",
        "coachapp.rules_versions.diff", "coachapp.rules_versions.edits", "coachapp.rules_versions.copy_text",
        "coachapp.rules_versions.changes")
#: package → the packages it must never import
FORBIDDEN = {
    "coachapp.leads": (*WEB, "coachapp.followups", "coachapp.tasks"),
    "coachapp.followups": (*WEB, "coachapp.tasks"),
    "coachapp.emails": (*WEB, "coachapp.leads", "coachapp.followups", "coachapp.tasks"),
    "coachapp.webhooks_out": (*WEB, "coachapp.followups", "coachapp.emails", "coachapp.tasks"),
    "coachapp.rules_versions": (*WEB, "coachapp.leads", "coachapp.followups", "coachapp.emails", "coachapp.tasks"),
    "coachapp.models": (*WEB, "coachapp.leads", "coachapp.followups", "coachapp.emails", "coachapp.tasks"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_dependencies_point_one_way(path):
    name = _module_name(path)
    for package, forbidden in FORBIDDEN.items():
        if name == package or name.startswith(package + "."):
            bad = sorted(i for i in _imports(path) for f in forbidden if i == f or i.startswith(f + "."))
            assert not bad, f"{name} must not import {bad}"


def _within(name: str, packages) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", [p for p in MODULES if _within(_module_name(p), PURE)], ids=_module_name)
def test_the_pure_domain_imports_only_the_pure_domain(path):
    bad = sorted(i for i in _imports(path) if (i.startswith("coachapp") and not _within(i, PURE))
                 or _within(i, ("flask", "sqlalchemy", "celery", "redis")))
    assert not bad, f"{_module_name(path)} is pure domain but imports {bad}"


def test_no_module_is_much_over_400_lines():
    long = {_module_name(p): n for p in MODULES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert not long, long
