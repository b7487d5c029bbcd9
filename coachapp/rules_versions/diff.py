"""Pure: the difference between two rule sets' texts, as a unified diff per file."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass


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
