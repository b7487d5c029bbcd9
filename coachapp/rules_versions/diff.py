"""Pure: the difference between two rule sets' texts, as a unified diff per file, and between
two versions' email copy, per email template (subject old → new, the body as a unified diff)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # "changed" | "added" | "removed"
    lines: tuple[str, ...]  # the unified diff, headers included, without line ends
    added: int
    removed: int


def diff_texts(old: Mapping[str, str], new: Mapping[str, str], old_label: str, new_label: str,
               context: int = 3) -> list[FileDiff]:
    """One ``FileDiff`` per file whose text differs (sorted by path); identical files are left out."""
    out = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        lines = tuple(line.rstrip("\n") for line in difflib.unified_diff(
            (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
            fromfile=f"{old_label}/{path}", tofile=f"{new_label}/{path}", n=context))
        body = lines[2:]
        out.append(FileDiff(
            path=path, status="added" if before is None else "removed" if after is None else "changed",
            lines=lines, added=sum(1 for line in body if line.startswith("+")),
            removed=sum(1 for line in body if line.startswith("-"))))
    return out


def as_text(diffs: list[FileDiff]) -> str:
    """The whole diff as one text (a patch ``git apply`` would read)."""
    return "".join(line + "\n" for d in diffs for line in d.lines)


@dataclass(frozen=True)
class CopyDiff:
    template: str
    status: str  # "changed" | "added" | "removed"
    fields: tuple[str, ...]  # which of "subject", "body" differ
    subject: tuple[str, str]  # (old, new); "" where there is none
    lines: tuple[str, ...]  # the body's unified diff, headers included
    added: int
    removed: int


def _entry(copy: Mapping[str, Any], name: str) -> tuple[str, str] | None:
    entry = copy.get(name)
    if not isinstance(entry, Mapping):
        return None
    return str(entry.get("subject", "")), str(entry.get("body", ""))


def diff_copy(old: Mapping[str, Any], new: Mapping[str, Any], old_label: str, new_label: str,
              context: int = 3) -> list[CopyDiff]:
    """One ``CopyDiff`` per email template whose subject or body differs (sorted by template)."""
    out = []
    for name in sorted(set(old or {}) | set(new or {})):
        before, after = _entry(old or {}, name), _entry(new or {}, name)
        if before == after:
            continue
        (s0, b0), (s1, b1) = before or ("", ""), after or ("", "")
        lines = tuple(line.rstrip("\n") for line in difflib.unified_diff(
            [x + "\n" for x in b0.splitlines()], [x + "\n" for x in b1.splitlines()],
            fromfile=f"{old_label}/copy/{name}", tofile=f"{new_label}/copy/{name}", n=context))
        body = lines[2:]
        out.append(CopyDiff(
            template=name, status="added" if before is None else "removed" if after is None else "changed",
            fields=tuple(f for f, a, b in (("subject", s0, s1), ("body", b0, b1)) if a != b), subject=(s0, s1),
            lines=lines, added=sum(1 for line in body if line.startswith("+")),
            removed=sum(1 for line in body if line.startswith("-"))))
    return out


def copy_as_text(diffs: list[CopyDiff]) -> str:
    """The copy changes as text: per template the subject old → new and the body's diff."""
    out = []
    for d in diffs:
        out.append(f"email {d.template} ({d.status}: {', '.join(d.fields)})")
        if "subject" in d.fields:
            out += [f"  subject: {d.subject[0]!r}", f"       → {d.subject[1]!r}"]
        out += list(d.lines)
    return "".join(line + "\n" for line in out)
