"""A proposed ``rules/leads/priority.yaml`` as a unified diff: only ``points:`` values change. Pure.

The file's text is edited line by line (never parsed and dumped again), so comments, order,
quoting and spacing stay exactly as the coach wrote them. The diff is for a person to read and
apply (``git apply`` or ``patch -p1``); nothing in the app writes into ``rules/``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

RULES_PATH = "rules/leads/priority.yaml"
_ID = re.compile(r"^\s*-\s+id:\s*(?P<q>['\"]?)(?P<id>[A-Za-z0-9_.\-]+)(?P=q)\s*(#.*)?$")
_POINTS = re.compile(r"^(?P<head>\s*points:\s*)(?P<value>-?\d+(?:\.\d+)?)(?P<tail>\s*(#.*)?)$")


class DiffError(ValueError):
    """The text does not have the rule or its ``points:`` line where expected."""


def format_points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def with_points(text: str, changes: Mapping[str, float]) -> str:
    """``text`` with the ``points:`` value of each rule id in ``changes`` replaced.

    A rule's ``points:`` line is the first one after its ``- id:`` line and before the next
    ``- id:``. Raises ``DiffError`` when a rule id or its points line is not found exactly once."""
    lines = text.splitlines(keepends=True)
    current: str | None = None
    done: dict[str, int] = {}
    for n, line in enumerate(lines):
        body = line.rstrip("\r\n")
        match = _ID.match(body)
        if match:
            current = match.group("id")
            continue
        points = _POINTS.match(body)
        if points and current in changes:
            if current in done:
                raise DiffError(f"rule '{current}' has more than one points line")
            ending = line[len(body):]
            lines[n] = f"{points.group('head')}{format_points(changes[current])}{points.group('tail')}{ending}"
            done[current] = n
            current = None
    missing = sorted(set(changes) - set(done))
    if missing:
        raise DiffError(f"no points line found for: {', '.join(missing)}")
    return "".join(lines)


def proposed_diff(text: str, changes: Mapping[str, float], path: str = RULES_PATH) -> str:
    """A unified diff (``a/``/``b/`` prefixes, for ``git apply`` or ``patch -p1``); "" if nothing changes."""
    new = with_points(text, changes)
    if new == text:
        return ""
    return "".join(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))
