"""Plain-language text templates (reasons, advice), parsed and checked at load time.

``{ref}`` inserts a value (a question id, ``derived.x``, ``score.x``; ``{v}`` is the input of
a banded rule). ``{ref|label}`` shows option labels, ``{ref|lower}`` lower-cased labels and
``{ref|pct}`` a ratio as a percentage. ``{{`` and ``}}`` are literal braces. A text may be a
list of alternatives: the first one whose values are all present is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues
from .conditions import Facts, RefTable, make_getter

FILTERS = ("label", "lower", "pct")
Labels = Mapping[str, Mapping[str, str]]


def format_number(value: float) -> str:
    """Render 8 → "8", 8.25 → "8.3"."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.1f}"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _formatter(filt: str | None, labels: Mapping[str, str]) -> Callable[[Any], str]:
    if filt == "pct":
        return lambda v: f"{math.floor(v * 100 + 0.5)}%"
    if filt in ("label", "lower"):

        def label(v: Any) -> str:
            items = v if isinstance(v, list | tuple) else [v]
            text = ", ".join(labels.get(str(i), str(i)) for i in items)
            return text.lower() if filt == "lower" else text

        return label
    return _plain


@dataclass(frozen=True, slots=True)
class _Slot:
    get: Callable[[Facts, Any], Any]
    fmt: Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Template:
    """One or more compiled text alternatives."""

    alternatives: tuple[tuple[str | _Slot, ...], ...]
    refs: tuple[str, ...]

    def render(self, facts: Facts, v: Any = None) -> str:
        for parts in self.alternatives:
            text = _render(parts, facts, v)
            if text is not None:
                return text
        return "".join(
            p if isinstance(p, str) else _value_or_q(p, facts, v) for p in self.alternatives[-1]
        )


def _value_or_q(slot: _Slot, facts: Facts, v: Any) -> str:
    value = slot.get(facts, v)
    return "?" if value is None else slot.fmt(value)


def _render(parts: tuple[str | _Slot, ...], facts: Facts, v: Any) -> str | None:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = part.get(facts, v)
        if value is None:
            return None
        out.append(part.fmt(value))
    return "".join(out)


def _split(text: str) -> list[tuple[bool, str]] | None:
    """Split into (is_placeholder, text) chunks; None if braces are unbalanced."""
    chunks: list[tuple[bool, str]] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "{}" and text[i : i + 2] in ("{{", "}}"):
            buf.append(ch)
            i += 2
            continue
        if ch == "}":
            return None
        if ch == "{":
            end = text.find("}", i)
            if end < 0 or "{" in text[i + 1 : end]:
                return None
            chunks.append((False, "".join(buf)))
            buf = []
            chunks.append((True, text[i + 1 : end].strip()))
            i = end + 1
            continue
        buf.append(ch)
        i += 1
    chunks.append((False, "".join(buf)))
    return [c for c in chunks if c[0] or c[1]]


def compile_template(
    data: Any,
    refs: RefTable,
    labels: Labels,
    issues: Issues,
    where: str,
    allow_v: bool = False,
) -> Template | None:
    """Compile a text or list of texts; report unknown refs/filters to ``issues``."""
    texts = data if isinstance(data, list) else [data]
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        issues.add(where, f"text must be a non-empty string or list of strings, got {data!r}")
        return None
    alternatives = []
    used: list[str] = []
    ok = True
    for text in texts:
        chunks = _split(text.strip())
        if chunks is None:
            issues.add(where, f"unbalanced braces in text {text!r}")
            ok = False
            continue
        parts: list[str | _Slot] = []
        for is_slot, body in chunks:
            if not is_slot:
                parts.append(body)
                continue
            ref, _, filt = (s.strip() for s in body.partition("|"))
            if filt and filt not in FILTERS:
                issues.add(
                    where, f"unknown filter '{filt}' in {{{body}}} (use {', '.join(FILTERS)})"
                )
                ok = False
            elif ref == "v" and allow_v:
                parts.append(_Slot(lambda _f, v: v, _formatter(filt or None, labels.get("v", {}))))
            elif ref in refs:
                getter = make_getter(ref, refs)
                fmt = _formatter(filt or None, labels.get(ref, {}))
                parts.append(_Slot(lambda f, _v, g=getter: g(f), fmt))
                used.append(ref)
            else:
                issues.add(where, f"unknown placeholder '{{{body}}}'")
                ok = False
        alternatives.append(tuple(parts))
    if not ok:
        return None
    return Template(tuple(alternatives), tuple(dict.fromkeys(used)))
