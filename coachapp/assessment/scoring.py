"""Point rules for the region restriction scores and the stability-need score."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, check_unique, file_header, judgement
from .conditions import Condition, Facts, RefTable, compile_condition, make_getter
from .templates import Labels, Template, compile_template

CONFIDENCES = ("measured", "self_report", "proxy")
RULE_KEYS = (
    "id",
    "region",
    "confidence",
    "evidence",
    "sources",
    "notes",
    "when",
    "points",
    "reason",
    "input",
    "bands",
    "coach_judgement",
)
BAND_KEYS = ("gte", "lt", "eq", "points", "reason", "status", "end_range_check")
# What a self-test band says about the result. Only restricted/marked results can make a
# region a priority ("normal is normal"); normal and borderline bands carry no points.
STATUSES = ("normal", "borderline", "restricted", "marked")
NOT_RESTRICTED = ("normal", "borderline")


@dataclass(frozen=True, slots=True)
class Band:
    lo: float | None
    hi: float | None
    eq: str | None
    points: float
    reason: Template
    status: str | None = None
    end_range_check: bool = False


@dataclass(frozen=True, slots=True)
class PointRule:
    """A rule adding points: either ``when`` + ``points`` or an ``input`` read through ``bands``."""

    id: str
    target: str
    confidence: str
    evidence: str
    sources: tuple[str, ...]
    when: Condition | None
    points: float
    reason: Template | None
    input: Callable[[Facts], Any] | None
    bands: tuple[Band, ...]
    coach_judgement: str | None = None

    def fire(self, facts: Facts) -> tuple[float, str, Band | None] | None:
        """Return (raw points, rendered reason, the band that matched) when the rule fires."""
        if self.when is not None and not self.when.fn(facts):
            return None
        if self.input is None:
            return self.points, self.reason.render(facts) if self.reason else "", None
        value = self.input(facts)
        if value is None:
            return None
        for band in self.bands:
            if band.eq is not None:
                if band.eq == value:
                    return band.points, band.reason.render(facts, value), band
            elif (band.lo is None or value >= band.lo) and (band.hi is None or value < band.hi):
                return band.points, band.reason.render(facts, value), band
        return None


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    label: str
    worse_side: Callable[[Facts], Any] | None = None  # 'left'/'right' beyond measurement error
    test_name: str | None = None  # the self-test that measures it, named in estimates


@dataclass(frozen=True, slots=True)
class RegionConfig:
    regions: tuple[Region, ...]
    rules: tuple[PointRule, ...]
    proxy_weight: float
    priority_threshold: float
    max_priorities: int
    third_priority_min: float


@dataclass(frozen=True, slots=True)
class StabilityConfig:
    id: str
    label: str
    stability_first_at: float
    rules: tuple[PointRule, ...]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_numeric_bands(bands: list[Band], node: Node) -> list[Band]:
    ordered = sorted(bands, key=lambda b: -math.inf if b.lo is None else b.lo)
    for band in ordered:
        if band.lo is not None and band.hi is not None and band.lo >= band.hi:
            node.issues.add(node.where, f"band [{_fmt(band.lo)}, {_fmt(band.hi)}) is empty")
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if prev.hi is None or nxt.lo is None or nxt.lo < prev.hi:
            at = nxt.lo if nxt.lo is not None else prev.lo
            node.issues.add(
                node.where, f"bands overlap at {_fmt(at) if at is not None else '-inf'}"
            )
        elif nxt.lo > prev.hi:
            node.issues.add(
                node.where, f"bands leave a gap between {_fmt(prev.hi)} and {_fmt(nxt.lo)}"
            )
    return ordered


def _band_status(band: Node, points: float, needs_status: bool) -> str | None:
    """Self-test bands say what the result is; normal and borderline results score 0."""
    status = band.choice("status", STATUSES)
    if status is None and needs_status:
        band.issues.add(band.where, f"a self-test band needs 'status' ({', '.join(STATUSES)})")
    if status in NOT_RESTRICTED and points:
        band.issues.add(band.where, f"a {status} band must score 0 points (normal is normal)")
    if status in ("restricted", "marked") and not points:
        band.issues.add(band.where, f"a {status} band needs points above 0")
    return status


def _bands(
    node: Node, input_ref: str, refs: RefTable, labels: Labels, needs_status: bool
) -> tuple[Band, ...]:
    kind = refs[input_ref].kind
    band_labels = {**labels, "v": labels.get(input_ref, {})}
    out: list[Band] = []
    for raw in node.list("bands"):
        band = Node(raw, node.where, node.issues, ("points", "reason"), BAND_KEYS)
        reason = compile_template(
            band.raw("reason"), refs, band_labels, node.issues, node.where, allow_v=True
        )
        points = band.num("points", 0.0)
        eq = band.raw("eq")
        if kind == "choice":
            if (
                band.has("gte")
                or band.has("lt")
                or not isinstance(eq, str)
                or eq not in refs[input_ref].options
            ):
                node.issues.add(
                    node.where,
                    f"band on '{input_ref}' needs 'eq' with one of its options, got {eq!r}",
                )
                continue
        elif band.has("eq") or not (band.has("gte") or band.has("lt")):
            node.issues.add(node.where, f"band on numeric '{input_ref}' needs 'gte' and/or 'lt'")
            continue
        status = _band_status(band, points or 0.0, needs_status)
        if reason is not None:
            out.append(
                Band(
                    band.num("gte"),
                    band.num("lt"),
                    eq if kind == "choice" else None,
                    points or 0.0,
                    reason,
                    status,
                    band.bool("end_range_check"),
                )
            )
    if kind == "choice":
        seen: set[str] = set()
        for band in out:
            if band.eq in seen:
                node.issues.add(node.where, f"bands overlap at '{band.eq}' (listed twice)")
            seen.add(str(band.eq))
        return tuple(out)
    return tuple(_check_numeric_bands(out, node))


def _rule(
    raw: Any,
    issues: Issues,
    refs: RefTable,
    labels: Labels,
    sources: Mapping[str, Any],
    targets: tuple[str, ...] | None,
) -> PointRule | None:
    ident = raw.get("id") if isinstance(raw, Mapping) else None
    required = ("id", "confidence", "evidence", "sources") + (("region",) if targets else ())
    node = Node(
        raw,
        f"rule '{ident}'",
        issues,
        required,
        RULE_KEYS if targets else RULE_KEYS[:1] + RULE_KEYS[2:],
    )
    if not node.ok:
        return None
    target = node.choice("region", targets) if targets else ""
    when = (
        compile_condition(node.raw("when"), refs, issues, node.where) if node.has("when") else None
    )
    rule_sources = node.sources(sources)
    confidence = node.choice("confidence", CONFIDENCES, "proxy") or "proxy"
    base = {
        "id": str(ident),
        "target": target or "",
        "confidence": confidence,
        "evidence": node.evidence(),
        "sources": rule_sources,
        "when": when,
        "coach_judgement": judgement(node, rule_sources),
    }
    if node.has("input"):
        ref = node.str("input") or ""
        if node.has("points") or node.has("reason"):
            issues.add(node.where, "a banded rule takes 'points' and 'reason' per band")
        if ref not in refs or refs[ref].kind not in ("number", "choice"):
            issues.add(node.where, f"unknown or non-scalar input '{ref}'")
            return None
        bands = _bands(node, ref, refs, labels, confidence != "proxy")
        if not bands:
            issues.add(node.where, "a banded rule needs at least one valid band")
        return PointRule(**base, points=0.0, reason=None, input=make_getter(ref, refs), bands=bands)
    if not (node.has("when") and node.has("points") and node.has("reason")):
        issues.add(node.where, "needs either 'input' + 'bands' or 'when' + 'points' + 'reason'")
        return None
    reason = compile_template(node.raw("reason"), refs, labels, issues, node.where)
    return PointRule(
        **base, points=node.num("points", 0.0) or 0.0, reason=reason, input=None, bands=()
    )


def _rules(
    entries: list[Any],
    issues: Issues,
    refs: RefTable,
    labels: Labels,
    sources: Mapping[str, Any],
    targets: tuple[str, ...] | None,
) -> tuple[PointRule, ...]:
    check_unique([e.get("id") for e in entries if isinstance(e, Mapping)], "rule", issues)
    rules = (_rule(raw, issues, refs, labels, sources, targets) for raw in entries)
    return tuple(r for r in rules if r is not None)


def load_regions(
    data: Any, issues: Issues, refs: RefTable, labels: Labels, sources: Mapping[str, Any]
) -> RegionConfig:
    head = file_header(data, issues, ("regions", "aggregation", "rules"))
    regions = []
    for raw in head.list("regions"):
        node = Node(
            raw,
            f"region '{raw.get('id') if isinstance(raw, Mapping) else raw}'",
            issues,
            ("id", "label"),
            ("worse_side", "test_name"),
        )
        side_ref = node.str("worse_side")
        side = None
        if side_ref is not None:
            if side_ref not in refs or refs[side_ref].options != frozenset({"left", "right"}):
                issues.add(node.where, f"'worse_side' must be a worse_side derived value, got '{side_ref}'")
            else:
                side = make_getter(side_ref, refs)
        regions.append(
            Region(str(node.raw("id")), node.str("label") or "", side, node.str("test_name"))
        )
    check_unique([r.id for r in regions], "region", issues)
    agg = Node(
        head.raw("aggregation"),
        "aggregation",
        issues,
        (
            "proxy_weight_when_measured",
            "priority_threshold",
            "max_priorities",
            "third_priority_min",
        ),
        ("sources", "coach_judgement"),
    )
    judgement(agg, agg.sources(sources))
    rules = _rules(head.list("rules"), issues, refs, labels, sources, tuple(r.id for r in regions))
    return RegionConfig(
        regions=tuple(regions),
        rules=rules,
        proxy_weight=agg.num("proxy_weight_when_measured", 0.5) or 0.0,
        priority_threshold=agg.num("priority_threshold", 40) or 0,
        max_priorities=agg.int("max_priorities", 2) or 2,
        third_priority_min=agg.num("third_priority_min", 60) or 0,
    )


def load_stability(
    data: Any, issues: Issues, refs: RefTable, labels: Labels, sources: Mapping[str, Any]
) -> StabilityConfig:
    head = file_header(
        data, issues, ("id", "label", "stability_first_at", "rules"), ("sources", "coach_judgement")
    )
    judgement(head, head.sources(sources), head.raw("stability_first_at"))
    return StabilityConfig(
        id=str(head.raw("id", "stability_need")),
        label=head.str("label") or "",
        stability_first_at=head.num("stability_first_at", 50) or 50,
        rules=_rules(head.list("rules"), issues, refs, labels, sources, None),
    )


def _round(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 2)


def apply_rules(
    rules: tuple[PointRule, ...], facts: Facts, proxy_weight: float
) -> dict[str, list[dict[str, Any]]]:
    """Fire rules and weight proxies; returns fired entries grouped by target."""
    fired: list[tuple[PointRule, float, str, Band | None]] = []
    measured: set[str] = set()
    for rule in rules:
        hit = rule.fire(facts)
        if hit is not None:
            fired.append((rule, *hit))
            if rule.confidence == "measured":
                measured.add(rule.target)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rule, raw, reason, band in fired:
        weighted = rule.confidence == "proxy" and rule.target in measured
        entry = {
            "rule_id": rule.id,
            "points": _round(raw * proxy_weight if weighted else raw),
            "raw_points": _round(raw),
            "reason": reason,
            "evidence": rule.evidence,
            "confidence": rule.confidence,
            "sources": list(rule.sources),
        }
        if band is not None and band.status:
            entry["status"] = band.status
            if band.end_range_check:
                entry["end_range_check"] = True
        if rule.coach_judgement:
            entry["coach_judgement"] = rule.coach_judgement
        grouped.setdefault(rule.target, []).append(entry)
    return grouped


def total(fired: list[dict[str, Any]]) -> int:
    """clamp(sum of applied points, 0, 100), rounded half up."""
    return max(0, min(100, math.floor(sum(f["points"] for f in fired) + 0.5)))
