"""Pure text hygiene: which characters never belong in stored or rendered text.

No Flask, no database: the edge (``coachapp.hygiene``) uses these on every request, and the
services use them again on what they store (defence in depth). "Control characters" are
Unicode category Cc: C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F). Free text keeps
tab, newline and carriage return; one-line values (names, tokens, UTM values) keep none.
Lone surrogates (U+D800–U+DFFF) cannot be encoded as UTF-8, so they are never kept either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

#: Controls that free text (a textarea) must not hold: everything in Cc but tab, LF and CR.
_FREE_TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: Controls that a one-line value must not hold: all of Cc.
_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")

#: JSON nested deeper than this is refused (a real request body here is 3 levels deep).
MAX_JSON_DEPTH = 32


def has_controls(value: str, *, multiline: bool = False) -> bool:
    """True when ``value`` holds a character that must not be stored or rendered."""
    return (_FREE_TEXT_BAD if multiline else _LINE_BAD).search(value) is not None


def strip_controls(value: str, *, multiline: bool = False) -> str:
    """``value`` without control characters and lone surrogates (free text keeps \\t \\n \\r)."""
    return (_FREE_TEXT_BAD if multiline else _LINE_BAD).sub("", value)


def has_lone_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def clean_name(value: str | None, limit: int = 80) -> str | None:
    """A person's name as stored: one line, no control characters, single spaces, trimmed."""
    if value is None:
        return None
    text = _SPACES.sub(" ", strip_controls(_SPACES.sub(" ", value))).strip()
    return text[:limit]


def clean_line(value: Any, limit: int) -> Any:
    """A one-line string without control characters, cut to ``limit``; other values unchanged."""
    if not isinstance(value, str):
        return value
    return strip_controls(value)[:limit]


def clean_mapping(data: Mapping[str, Any], limit: int = 500) -> dict[str, Any]:
    """A flat mapping (first-touch data) with every string value made a clean line."""
    return {strip_controls(str(key)): clean_line(value, limit) for key, value in data.items()}


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when containers in ``value`` nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _shown(key: str) -> str:
    """A key as it may appear in an error message: control characters escaped."""
    return key.encode("unicode_escape").decode("ascii") if _LINE_BAD.search(key) else key


def json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON value, keys too, with its dotted path (``contact.first_name``)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            yield where, node
        elif isinstance(node, dict):
            for key, child in node.items():
                shown = _shown(str(key))
                inner = f"{where}.{shown}" if where else shown
                yield inner, str(key)
                stack.append((child, inner))
        elif isinstance(node, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(node))
