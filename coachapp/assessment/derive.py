"""Derived values (rules/derive/derived_values.yaml) compiled to small functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ._schema import Issues, Node, check_unique, judgement
from .conditions import Facts, RefTable, RefType

DeriveFn = Callable[[Facts, date], Any]

# op name -> (argument kind, minimum args, maximum args or None)
OPS: dict[str, tuple[str, int, int | None]] = {
    "min": ("number", 1, None),
    "max": ("number", 1, None),
    "abs_diff": ("number", 2, 2),
    "pct_diff": ("number", 2, 2),
    "ratio": ("number", 2, 2),
    "diff": ("number", 2, 2),
    "mul": ("number", 1, 1),
    "worst_of": ("choice", 1, None),
    "ordinal_gap": ("choice", 2, 2),
    "count_true": ("choices", 1, 1),
    "count_present": ("any", 1, None),
    "weeks_until": ("date", 1, 1),
    "map": ("choice", 1, 1),
    "worse_side": ("any", 2, 2),
    "at_least": ("number", 1, 1),
}
KEYS = (
    "id",
    "op",
    "args",
    "round",
    "order",
    "factor",
    "map",
    "min_gap",
    "lower_is_worse",
    "min",
    "description",
    "sources",
    "coach_judgement",
)
SIDES = frozenset({"left", "right"})


@dataclass(frozen=True, slots=True)
class Derived:
    id: str
    args: tuple[str, ...]
    fn: DeriveFn
    rtype: RefType
    description: str | None

    @property
    def key(self) -> str:
        return f"derived.{self.id}"


def _rounded(fn: Callable[..., float | None], digits: int | None) -> Callable[..., float | None]:
    if digits is None:
        return fn

    def wrapped(*args: Any) -> float | None:
        value = fn(*args)
        return None if value is None else round(value, digits)

    return wrapped


def _numeric(op: str, keys: tuple[str, ...], node: Node) -> DeriveFn:
    if op in ("min", "max"):
        pick = min if op == "min" else max

        def extreme(f: Facts, _t: date) -> Any:
            values = [v for k in keys if (v := f.get(k)) is not None]
            return pick(values) if values else None

        return extreme
    if op == "at_least":  # 1 when the value reaches `min`, else 0 (a missing value is 0)
        key, floor = keys[0], node.num("min", 0.0)
        return lambda f, _t: int((v := f.get(key)) is not None and v >= floor)
    if op == "mul":
        key, factor = keys[0], node.num("factor", 1.0)

        def mul(f: Facts, _t: date) -> Any:
            value = f.get(key)
            return None if value is None else value * factor

        return _rounded(mul, node.int("round"))
    a, b = keys

    def pair(f: Facts, _t: date) -> Any:
        x, y = f.get(a), f.get(b)
        if x is None or y is None:
            return None
        if op == "abs_diff":
            return abs(x - y)
        if op == "diff":
            return x - y
        if op == "ratio":
            return x / y if y else None
        top = max(x, y)
        return abs(x - y) / top * 100 if top else 0.0

    return _rounded(pair, node.int("round"))


def _ordinal(op: str, keys: tuple[str, ...], order: tuple[str, ...]) -> DeriveFn:
    rank = {value: i for i, value in enumerate(order)}
    if op == "worst_of":

        def worst(f: Facts, _t: date) -> Any:
            values = [v for k in keys if (v := f.get(k)) in rank]
            return max(values, key=rank.__getitem__) if values else None

        return worst
    a, b = keys

    def gap(f: Facts, _t: date) -> Any:
        x, y = f.get(a), f.get(b)
        return abs(rank[x] - rank[y]) if x in rank and y in rank else None

    return gap


def _worse_side(keys: tuple[str, ...], node: Node, order: tuple[str, ...]) -> DeriveFn:
    """'left' or 'right' when the two sides differ by at least ``min_gap``; else None.

    Numbers: the lower side is worse unless ``lower_is_worse: false``. Choices: the side
    further along ``order`` (best first) is worse, and the gap counts categories.
    """
    left, right = keys
    min_gap = node.num("min_gap", 0.0) or 0.0
    rank = {value: i for i, value in enumerate(order)}
    lower_worse = node.bool("lower_is_worse", True)

    def side(f: Facts, _t: date) -> Any:
        x, y = f.get(left), f.get(right)
        if x is None or y is None:
            return None
        if order:
            if x not in rank or y not in rank:
                return None
            x, y = -rank[x], -rank[y]  # higher = better, like a number
        elif not lower_worse:
            x, y = -x, -y
        if abs(x - y) < min_gap or x == y:
            return None
        return "left" if x < y else "right"

    return side


def _other(op: str, keys: tuple[str, ...], node: Node) -> DeriveFn:
    if op == "count_true":
        key = keys[0]
        return lambda f, _t: None if (v := f.get(key)) is None else len(v)
    if op == "count_present":
        return lambda f, _t: sum(1 for k in keys if f.get(k) is not None)
    if op == "map":
        key, table = keys[0], dict(node.mapping("map"))
        return lambda f, _t: table.get(f.get(key))
    key = keys[0]

    def weeks_until(f: Facts, today: date) -> Any:
        value = f.get(key)
        if value is None:
            return None
        try:
            days = (date.fromisoformat(value) - today).days
        except (TypeError, ValueError):
            return None
        return days // 7 if days >= 0 else None

    return weeks_until


def _check_args(op: str, args: tuple[str, ...], node: Node, refs: RefTable) -> bool:
    kind, lo, hi = OPS[op]
    if len(args) < lo or (hi is not None and len(args) > hi):
        node.issues.add(
            node.where, f"op '{op}' takes {lo}{'' if hi == lo else '+'} args, got {len(args)}"
        )
        return False
    ok = True
    for arg in args:
        rtype = refs.get(arg)
        if rtype is None:
            node.issues.add(node.where, f"unknown arg '{arg}'")
            ok = False
        elif kind != "any" and rtype.kind != kind:
            node.issues.add(node.where, f"arg '{arg}' is {rtype.kind}; op '{op}' needs {kind}")
            ok = False
    return ok


def _check_extras(op: str, args: tuple[str, ...], node: Node, refs: RefTable) -> tuple[str, ...]:
    """Validate op-specific keys; return the ordinal order (empty when not used)."""
    allowed = {
        "worst_of": ("order",),
        "ordinal_gap": ("order",),
        "mul": ("factor",),
        "map": ("map",),
        "worse_side": ("order", "min_gap", "lower_is_worse"),
        "at_least": ("min",),
    }
    for extra in ("order", "factor", "map", "min_gap", "lower_is_worse", "min"):
        if node.has(extra) and extra not in allowed.get(op, ()):
            node.issues.add(node.where, f"'{extra}' is not used by op '{op}'")
    if op == "worse_side":
        return _check_sides(args, node, refs)
    if node.has("round") and OPS[op][0] != "number":
        node.issues.add(node.where, f"'round' is not used by op '{op}'")
    if op in ("worst_of", "ordinal_gap"):
        order = node.str_list("order")
        for arg in args:
            if arg in refs and set(order) != refs[arg].options:
                node.issues.add(node.where, f"'order' must list exactly the options of '{arg}'")
        return order
    if op == "at_least" and not node.has("min"):
        node.issues.add(node.where, "op 'at_least' needs 'min'")
    if op == "mul" and not node.has("factor"):
        node.issues.add(node.where, "op 'mul' needs 'factor'")
    if op == "map":
        table = node.mapping("map")
        options = refs[args[0]].options if args and args[0] in refs else frozenset()
        if set(table) != set(options):
            node.issues.add(node.where, f"'map' must cover exactly the options of '{args[0]}'")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in table.values()):
            node.issues.add(node.where, "'map' values must be numbers")
    return ()


def _check_sides(args: tuple[str, ...], node: Node, refs: RefTable) -> tuple[str, ...]:
    """worse_side takes [left, right] of one kind; choices need their order (best first)."""
    if len(args) != 2 or "left" not in args[0] or "right" not in args[1]:
        node.issues.add(node.where, "op 'worse_side' takes [<left answer>, <right answer>]")
        return ()
    kinds = {refs[a].kind for a in args if a in refs}
    if len(kinds) != 1 or not kinds <= {"number", "choice"}:
        node.issues.add(node.where, "op 'worse_side' needs two numbers or two choices")
        return ()
    if "choice" in kinds:
        order = node.str_list("order")
        if set(order) != refs[args[0]].options:
            node.issues.add(node.where, f"'order' must list exactly the options of '{args[0]}'")
        if node.has("lower_is_worse"):
            node.issues.add(node.where, "'lower_is_worse' is for numbers; choices use 'order'")
        return order
    if node.has("order"):
        node.issues.add(node.where, "'order' is for choices")
    return ()


def load_derived(
    data: Any, refs: dict[str, RefType], issues: Issues, sources: Mapping[str, Any]
) -> tuple[Derived, ...]:
    """Compile the derived list; each new value is added to ``refs`` as ``derived.<id>``."""
    out: list[Derived] = []
    entries = data if isinstance(data, list) else []
    if not isinstance(data, list):
        issues.add("", "'derived' must be a list")
    check_unique([e.get("id") for e in entries if isinstance(e, Mapping)], "derived", issues)
    for entry in entries:
        ident = entry.get("id") if isinstance(entry, Mapping) else None
        node = Node(entry, f"derived '{ident}'", issues, ("id", "op", "args"), KEYS)
        op = node.choice("op", OPS)
        args = node.str_list("args")
        if not node.ok or op is None or not _check_args(op, args, node, refs):
            continue
        order = _check_extras(op, args, node, refs)
        judgement(node, node.sources(sources), {k: v for k, v in node.data.items() if k != "round"})
        kind = OPS[op][0]
        if op == "worse_side":
            derived = Derived(
                str(ident), args, _worse_side(args, node, order), RefType("choice", SIDES),
                node.str("description"),
            )
            refs[derived.key] = derived.rtype
            out.append(derived)
            continue
        if kind == "number" or op in (
            "count_true",
            "count_present",
            "map",
            "weeks_until",
            "ordinal_gap",
        ):
            rtype = RefType("number")
        else:
            rtype = RefType("choice", frozenset(order))
        if op in ("worst_of", "ordinal_gap"):
            fn = _ordinal(op, args, order)
        elif kind == "number":
            fn = _numeric(op, args, node)
        else:
            fn = _other(op, args, node)
        derived = Derived(str(ident), args, fn, rtype, node.str("description"))
        refs[derived.key] = rtype
        out.append(derived)
    return tuple(out)


def compute(derived: tuple[Derived, ...], facts: dict[str, Any], today: date) -> dict[str, Any]:
    """Add ``derived.<id>`` values to ``facts`` in order; return them keyed by id."""
    values: dict[str, Any] = {}
    for item in derived:
        value = item.fn(facts, today)
        values[item.id] = value
        facts[item.key] = value
    return values
