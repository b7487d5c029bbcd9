"""The condition DSL, validated and compiled to closures at load time.

A condition is either a combinator ``{all: [...]}``, ``{any: [...]}``, ``{not: cond}`` or a
leaf ``{ref: <name>, <op>: <value>}`` with exactly one operator. Conditions run against a
flat *facts* mapping: answers by question id, ``derived.<name>``, ``score.<name>`` and
``flags`` (the set of fired flag ids). A missing value makes every comparison false
(``exists: false`` is the way to test for a missing answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]

SCALAR_OPS = ("eq", "ne", "in", "not_in")
NUMERIC_OPS = ("gt", "gte", "lt", "lte", "between")
SET_OPS = ("contains", "contains_any")
OPERATORS = (*SCALAR_OPS, *NUMERIC_OPS, *SET_OPS, "exists")


@dataclass(frozen=True, slots=True)
class RefType:
    """What a ref holds: kind is bool, choice, choices, number, date, text or flags."""

    kind: str
    options: frozenset[str] = frozenset()


RefTable = Mapping[str, RefType]


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition plus the refs it reads."""

    fn: Predicate
    refs: tuple[str, ...]

    def __call__(self, facts: Facts) -> bool:
        return self.fn(facts)


def make_getter(ref: str, refs: RefTable) -> Callable[[Facts], Any]:
    """Return a value getter; checklist items (``question.item``) read as booleans."""
    head, _, item = ref.partition(".")
    if item and head in refs and refs[head].kind == "choices":

        def get_item(facts: Facts) -> Any:
            value = facts.get(head)
            return None if value is None else item in value

        return get_item
    return lambda facts: facts.get(ref)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Compiler:
    def __init__(self, refs: RefTable, issues: Issues, where: str) -> None:
        self.refs = refs
        self.issues = issues
        self.where = where
        self.used: list[str] = []

    def error(self, message: str) -> None:
        self.issues.add(self.where, f"condition: {message}")

    def node(self, data: Any) -> Predicate | None:
        if not isinstance(data, Mapping) or not data:
            self.error(f"expected a mapping with 'all', 'any', 'not' or 'ref', got {data!r}")
            return None
        if "ref" not in data:
            if len(data) != 1 or next(iter(data)) not in ("all", "any", "not"):
                self.error(f"unknown combinator {sorted(data)} (use all, any, not or ref)")
                return None
            key, value = next(iter(data.items()))
            if key == "not":
                inner = self.node(value)
                return None if inner is None else (lambda f: not inner(f))
            if not isinstance(value, list) or not value:
                self.error(f"'{key}' needs a non-empty list")
                return None
            parts = [self.node(item) for item in value]
            if any(p is None for p in parts):
                return None
            return _all(tuple(parts)) if key == "all" else _any(tuple(parts))
        return self.leaf(data)

    def leaf(self, data: Mapping[str, Any]) -> Predicate | None:
        ref = data["ref"]
        ops = [k for k in data if k != "ref"]
        unknown = [k for k in ops if k not in OPERATORS]
        if unknown:
            self.error(f"unknown operator '{unknown[0]}' on '{ref}'")
            return None
        if len(ops) != 1:
            self.error(f"leaf on '{ref}' needs exactly one operator, got {ops or 'none'}")
            return None
        if not isinstance(ref, str) or ref not in self.refs:
            self.error(f"unknown ref '{ref}'")
            return None
        op, value = ops[0], data[ops[0]]
        if not self.check(ref, self.refs[ref], op, value):
            return None
        self.used.append(ref)
        return _leaf(make_getter(ref, self.refs), op, value)

    def check(self, ref: str, rtype: RefType, op: str, value: Any) -> bool:
        kind = rtype.kind
        if op == "exists":
            if not isinstance(value, bool):
                self.error(f"'exists' on '{ref}' needs true or false")
                return False
            return True
        if op in SET_OPS:
            if kind not in ("choices", "flags"):
                self.error(
                    f"'{op}' needs a multi-select, checklist or flags ref; '{ref}' is {kind}"
                )
                return False
            values = value if op == "contains_any" else [value]
            if op == "contains_any" and (not isinstance(value, list) or not value):
                self.error(f"'contains_any' on '{ref}' needs a non-empty list")
                return False
            return self.check_options(ref, rtype, values)
        if op in NUMERIC_OPS:
            if kind != "number":
                self.error(f"'{op}' needs a numeric ref; '{ref}' is {kind}")
                return False
            if op == "between":
                ok = isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))
                if not ok or value[0] >= value[1]:
                    self.error(f"'between' on '{ref}' needs [lo, hi] numbers with lo < hi")
                    return False
                return True
            if not _is_number(value):
                self.error(f"'{op}' on '{ref}' needs a number, got {value!r}")
                return False
            return True
        values = value if op in ("in", "not_in") else [value]
        if op in ("in", "not_in") and (not isinstance(value, list) or not value):
            self.error(f"'{op}' on '{ref}' needs a non-empty list")
            return False
        if kind in ("choices", "flags"):
            self.error(f"'{op}' cannot test '{ref}' ({kind}); use contains or contains_any")
            return False
        if kind == "bool":
            if not all(isinstance(v, bool) for v in values):
                self.error(f"'{ref}' is yes/no: compare with true or false, got {value!r}")
                return False
            return True
        if kind == "number":
            if not all(map(_is_number, values)):
                self.error(f"'{ref}' is numeric: compare with numbers, got {value!r}")
                return False
            return True
        if kind == "choice":
            return self.check_options(ref, rtype, values)
        if not all(isinstance(v, str) for v in values):
            self.error(f"'{ref}' is {kind}: compare with strings, got {value!r}")
            return False
        return True

    def check_options(self, ref: str, rtype: RefType, values: list[Any]) -> bool:
        bad = [v for v in values if not isinstance(v, str) or v not in rtype.options]
        if bad:
            allowed = ", ".join(sorted(rtype.options))
            self.error(f"{bad[0]!r} is not an option of '{ref}' (allowed: {allowed})")
            return False
        return True


def _all(parts: tuple[Predicate, ...]) -> Predicate:
    def fn(facts: Facts) -> bool:
        for part in parts:
            if not part(facts):
                return False
        return True

    return fn


def _any(parts: tuple[Predicate, ...]) -> Predicate:
    def fn(facts: Facts) -> bool:
        for part in parts:
            if part(facts):
                return True
        return False

    return fn


def _leaf(get: Callable[[Facts], Any], op: str, value: Any) -> Predicate:
    if op == "exists":
        return (lambda f: get(f) is not None) if value else (lambda f: get(f) is None)
    if op == "eq":
        return lambda f: (v := get(f)) is not None and v == value
    if op == "ne":
        return lambda f: (v := get(f)) is not None and v != value
    if op in ("in", "not_in", "contains_any"):
        pool = frozenset(value)
        if op == "in":
            return lambda f: (v := get(f)) is not None and v in pool
        if op == "not_in":
            return lambda f: (v := get(f)) is not None and v not in pool
        return lambda f: (v := get(f)) is not None and not pool.isdisjoint(v)
    if op == "contains":
        return lambda f: (v := get(f)) is not None and value in v
    if op == "gt":
        return lambda f: (v := get(f)) is not None and v > value
    if op == "gte":
        return lambda f: (v := get(f)) is not None and v >= value
    if op == "lt":
        return lambda f: (v := get(f)) is not None and v < value
    if op == "lte":
        return lambda f: (v := get(f)) is not None and v <= value
    lo, hi = value
    return lambda f: (v := get(f)) is not None and lo <= v < hi


def compile_condition(data: Any, refs: RefTable, issues: Issues, where: str) -> Condition | None:
    """Validate and compile a condition; report problems to ``issues`` and return None."""
    compiler = _Compiler(refs, issues, where)
    fn = compiler.node(data)
    if fn is None:
        return None
    return Condition(fn, tuple(dict.fromkeys(compiler.used)))
