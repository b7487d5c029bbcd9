"""Sources merged by name (pure): "Instagram", "instagram" and " instagram " are one source.

A source's key is its name with surrounding and repeated spaces removed, case folded, and a
leading "www." dropped; empty means "direct". Its label is the spelling seen most often
(weighted by the counts it came with); on a tie a capitalised spelling wins, then the
alphabetically first, so the label does not change between two page loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

DIRECT = "direct"


def source_key(raw: str | None) -> str:
    name = " ".join((raw or "").split()).casefold().removeprefix("www.")
    return name or DIRECT


def tidy(raw: str | None) -> str:
    """The spelling as shown: inner whitespace collapsed, ends trimmed."""
    return " ".join((raw or "").split()) or DIRECT


class SourceNames:
    """Collects the spellings seen for each key, then names every key once."""

    def __init__(self) -> None:
        self._seen: dict[str, Counter[str]] = {}

    def add(self, raw: str | None, weight: int = 1) -> str:
        """Record one spelling (``weight`` times) and return its key."""
        key = source_key(raw)
        self._seen.setdefault(key, Counter())[tidy(raw)] += max(weight, 0)
        return key

    def label(self, key: str) -> str:
        spellings = self._seen.get(key)
        if not spellings:
            return key
        return min(spellings.items(), key=lambda item: (-item[1], item[0].islower(), item[0]))[0]

    def labels(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        return {key: self.label(key) for key in (self._seen if keys is None else keys)}
