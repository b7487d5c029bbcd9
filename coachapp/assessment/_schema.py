"""Small helpers for validating parsed YAML while collecting every problem found."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

EVIDENCE_LEVELS = ("strong", "moderate", "limited", "practitioner", "coach_philosophy")


class Issues:
    """Error collector for one rule file; messages are prefixed with the file path."""

    def __init__(self, errors: list[str], path: str) -> None:
        self.errors = errors
        self.path = path

    def add(self, where: str, message: str) -> None:
        prefix = f"{self.path}: {where}" if where else self.path
        self.errors.append(f"{prefix}: {message}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class Node:
    """A mapping read with key checking: unknown and missing keys are reported once."""

    def __init__(
        self,
        data: Any,
        where: str,
        issues: Issues,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> None:
        self.where = where
        self.issues = issues
        self.ok = isinstance(data, Mapping)
        self.data: Mapping[str, Any] = data if self.ok else {}
        if not self.ok:
            issues.add(where, f"expected a mapping, got {_type_name(data)}")
            return
        req, opt = tuple(required), tuple(optional)
        for key in self.data:
            if key not in req and key not in opt:
                issues.add(where, f"unknown key '{key}'")
        for key in req:
            if key not in self.data:
                issues.add(where, f"missing required key '{key}'")
                self.ok = False

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def _bad(self, key: str, expected: str) -> None:
        self.issues.add(self.where, f"'{key}' must be {expected}, got {_type_name(self.data[key])}")

    def str(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self._bad(key, "a non-empty string")
            return default
        return value.strip()

    def bool(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._bad(key, "true or false")
            return default
        return value

    def num(self, key: str, default: float | None = None) -> float | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._bad(key, "a number")
            return default
        return value

    def int(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self._bad(key, "an integer")
            return default
        return value

    def list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(key, "a list")
            return []
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        out = []
        for item in self.list(key):
            if isinstance(item, str) and item.strip():
                out.append(item.strip())
            else:
                self.issues.add(self.where, f"'{key}' must list non-empty strings, got {item!r}")
        return tuple(out)

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self._bad(key, "a mapping")
            return {}
        return value

    def choice(self, key: str, allowed: Iterable[str], default: str | None = None) -> str | None:
        value = self.str(key)
        if value is None:
            return default
        allowed = tuple(allowed)
        if value not in allowed:
            self.issues.add(
                self.where, f"'{key}' must be one of {', '.join(allowed)}; got '{value}'"
            )
            return default
        return value

    def evidence(self) -> str:
        return self.choice("evidence", EVIDENCE_LEVELS, "limited") or "limited"

    def sources(self, known: Mapping[str, Any]) -> tuple[str, ...]:
        ids = self.str_list("sources")
        for sid in ids:
            if sid not in known:
                self.issues.add(self.where, f"unknown source id '{sid}' (not in sources.yaml)")
        return ids


def check_unique(ids: Iterable[str], what: str, issues: Issues) -> None:
    """Report duplicate ids within one collection."""
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            issues.add(f"{what} '{ident}'", "duplicate id")
        seen.add(ident)


def file_header(
    data: Any, issues: Issues, required: Iterable[str], optional: Iterable[str] = ()
) -> Node:
    """Read a file's top-level mapping; every rule file must carry a `version` key."""
    node = Node(data, "", issues, ("version", *required), optional)
    version = node.raw("version")
    if node.has("version") and (isinstance(version, bool) or not isinstance(version, int | str)):
        issues.add("", "'version' must be an integer or a string")
    return node


def has_number(value: Any) -> bool:
    """True when a parsed YAML value holds a number anywhere (booleans are not numbers)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, Mapping):
        return any(has_number(v) for k, v in value.items() if k != "version")
    if isinstance(value, list):
        return any(has_number(v) for v in value)
    return False


def judgement(node: Node, sources: tuple[str, ...], numbers: Any = None) -> str | None:
    """Every number cites a source or says it is the coach's judgement (one line, with why).

    ``numbers`` is the part of the node that holds thresholds and points (the whole node
    by default). Returns the ``coach_judgement`` reason, if any.
    """
    reason = None
    if node.has("coach_judgement"):
        raw = node.raw("coach_judgement")
        if not isinstance(raw, str) or not raw.strip() or "\n" in raw.strip() or len(raw) > 240:
            node.issues.add(
                node.where, "'coach_judgement' must be a one-line reason (why this number)"
            )
        else:
            reason = raw.strip()
    held = node.data if numbers is None else numbers
    if not sources and reason is None and has_number(held):
        node.issues.add(
            node.where,
            "a numeric threshold needs 'sources' or 'coach_judgement: <one-line reason>'",
        )
    return reason
