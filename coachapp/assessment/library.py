"""The exercise library (rules/exercises/library.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, check_unique, file_header

KINDS = (
    "cars",
    "pails_rails",
    "end_range_active",
    "mobility_active",
    "strength",
    "stability",
    "drill",
)
BLOCKS = ("daily", "end_range", "strength", "stability", "drills")
KEYS = (
    "id",
    "name",
    "kind",
    "block",
    "regions",
    "purpose",
    "dosage",
    "frequency",
    "minutes",
    "cues",
    "loads_areas",
    "evidence",
    "sources",
)
OPTIONAL = ("intensity", "passive_end_range", "progressive", "starter_dosage")
INTENSITIES = ("low", "moderate", "high")


@dataclass(frozen=True, slots=True)
class Exercise:
    id: str
    name: str
    kind: str
    block: str
    regions: tuple[str, ...]
    purpose: str
    dosage: str
    frequency: str
    minutes: int
    cues: tuple[str, ...]
    loads_areas: frozenset[str]
    evidence: str
    sources: tuple[str, ...]
    intensity: str = "low"  # high = fast running (strides, bounding): gated by amber rules
    passive_end_range: bool = False  # a sustained passive end-range hold: never when hypermobile
    progressive: bool = False  # a load-progression programme: gated by amber rules
    starter_dosage: str | None = None  # for runners who do no strength training yet


def load_library(
    data: Any, issues: Issues, region_ids: tuple[str, ...], sources: Mapping[str, Any]
) -> tuple[dict[str, Exercise], frozenset[str]]:
    """Return exercises by id and the body-area vocabulary used by ``loads_areas``."""
    head = file_header(data, issues, ("areas", "exercises"))
    areas = frozenset(head.str_list("areas"))
    entries = head.list("exercises")
    check_unique([e.get("id") for e in entries if isinstance(e, Mapping)], "exercise", issues)
    out: dict[str, Exercise] = {}
    for raw in entries:
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        node = Node(raw, f"exercise '{ident}'", issues, KEYS, OPTIONAL)
        if not node.ok:
            continue
        regions = node.str_list("regions")
        for region in regions:
            if region not in region_ids:
                issues.add(node.where, f"unknown region '{region}'")
        loads = node.str_list("loads_areas")
        for area in loads:
            if area not in areas:
                issues.add(node.where, f"unknown area '{area}' (add it to 'areas')")
        minutes = node.int("minutes", 0) or 0
        if minutes <= 0:
            issues.add(node.where, "'minutes' must be a positive integer")
        out[str(ident)] = Exercise(
            id=str(ident),
            name=node.str("name") or "",
            kind=node.choice("kind", KINDS, "strength") or "strength",
            block=node.choice("block", BLOCKS, "strength") or "strength",
            regions=regions,
            purpose=node.str("purpose") or "",
            dosage=node.str("dosage") or "",
            frequency=node.str("frequency") or "",
            minutes=minutes,
            cues=node.str_list("cues"),
            loads_areas=frozenset(loads),
            evidence=node.evidence(),
            sources=node.sources(sources),
            intensity=node.choice("intensity", INTENSITIES, "low") or "low",
            passive_end_range=node.bool("passive_end_range"),
            progressive=node.bool("progressive"),
            starter_dosage=node.str("starter_dosage"),
        )
        if out[str(ident)].kind == "pails_rails" and not out[str(ident)].passive_end_range:
            issues.add(node.where, "PAILs/RAILs start from a passive end-range hold: set 'passive_end_range: true'")
    return out, areas
