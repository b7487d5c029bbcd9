"""Condition → message rules: safety red/amber flags and the coach's risk flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, check_unique, file_header
from .conditions import Condition, Facts, RefTable, compile_condition
from .templates import Labels, Template, compile_template

SEVERITIES = ("high", "medium", "low")
LEVELS = {"red": "see_clinician", "amber": "plan_limited"}


@dataclass(frozen=True, slots=True)
class RiskFlag:
    id: str
    label: str
    severity: str
    when: Condition
    reason: Template
    evidence: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SafetyRule:
    id: str
    level: str
    when: Condition
    reason: Template
    sources: tuple[str, ...]
    restrict_areas: tuple[str, ...]
    restrict_areas_from: str | None


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    messages: Mapping[str, str]
    rules: tuple[SafetyRule, ...]


def _ids(entries: list[Any], what: str, issues: Issues) -> None:
    check_unique([e.get("id") for e in entries if isinstance(e, Mapping)], what, issues)


def load_flags(
    data: Any, issues: Issues, refs: RefTable, labels: Labels, sources: Mapping[str, Any]
) -> tuple[RiskFlag, ...]:
    head = file_header(data, issues, ("flags",))
    entries = head.list("flags")
    _ids(entries, "flag", issues)
    out = []
    for raw in entries:
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        keys = ("id", "label", "severity", "when", "reason", "evidence", "sources")
        node = Node(raw, f"flag '{ident}'", issues, keys, ("notes",))
        if not node.ok:
            continue
        when = compile_condition(node.raw("when"), refs, issues, node.where)
        reason = compile_template(node.raw("reason"), refs, labels, issues, node.where)
        severity = node.choice("severity", SEVERITIES)
        if when and reason and severity:
            out.append(
                RiskFlag(
                    str(ident),
                    node.str("label") or "",
                    severity,
                    when,
                    reason,
                    node.evidence(),
                    node.sources(sources),
                )
            )
    return tuple(out)


def load_safety(
    data: Any,
    issues: Issues,
    refs: RefTable,
    labels: Labels,
    sources: Mapping[str, Any],
    areas: frozenset[str],
) -> SafetyConfig:
    """Load red/amber rules; amber rules may name body areas the plan must not load."""
    head = file_header(data, issues, ("levels", "rules"))
    levels = Node(head.raw("levels"), "levels", issues, tuple(LEVELS))
    messages: dict[str, str] = {}
    for level, outcome in LEVELS.items():
        node = Node(levels.raw(level), f"level '{level}'", issues, ("outcome", "message"))
        if node.ok and node.raw("outcome") != outcome:
            issues.add(node.where, f"outcome must be '{outcome}'")
        messages[level] = node.str("message") or ""
    entries = head.list("rules")
    _ids(entries, "rule", issues)
    rules = []
    for raw in entries:
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        node = Node(
            raw,
            f"rule '{ident}'",
            issues,
            ("id", "level", "when", "reason", "sources"),
            ("notes", "restrict_areas", "restrict_areas_from"),
        )
        if not node.ok:
            continue
        level = node.choice("level", LEVELS)
        restrict = node.str_list("restrict_areas")
        for area in restrict:
            if area not in areas:
                issues.add(
                    node.where, f"unknown area '{area}' (see 'areas' in exercises/library.yaml)"
                )
        from_ref = node.str("restrict_areas_from")
        if from_ref is not None and (from_ref not in refs or refs[from_ref].kind != "choices"):
            issues.add(
                node.where,
                f"'restrict_areas_from' must be a multi-select question, got '{from_ref}'",
            )
        if (restrict or from_ref) and level != "amber":
            issues.add(node.where, "only amber rules restrict areas (red rules stop the plan)")
        when = compile_condition(node.raw("when"), refs, issues, node.where)
        reason = compile_template(node.raw("reason"), refs, labels, issues, node.where)
        if level and when and reason:
            rules.append(
                SafetyRule(
                    str(ident), level, when, reason, node.sources(sources), restrict, from_ref
                )
            )
    return SafetyConfig(messages, tuple(rules))


def check_safety(config: SafetyConfig, facts: Facts) -> tuple[dict[str, Any], frozenset[str]]:
    """Return the safety summary and the body areas an amber plan must avoid loading."""
    fired, areas = [], set()
    for rule in config.rules:
        if rule.when.fn(facts):
            fired.append(
                {
                    "id": rule.id,
                    "level": rule.level,
                    "reason": rule.reason.render(facts),
                    "sources": list(rule.sources),
                }
            )
            areas.update(rule.restrict_areas)
            if rule.restrict_areas_from:
                areas.update(facts.get(rule.restrict_areas_from) or ())
    levels = {f["level"] for f in fired}
    level = "red" if "red" in levels else "amber" if "amber" in levels else "ok"
    summary = {
        "level": level,
        "outcome": LEVELS.get(level, "plan"),
        "message": config.messages.get(level),
        "fired": fired,
    }
    return summary, frozenset(areas)


def check_flags(flags: tuple[RiskFlag, ...], facts: Facts) -> list[dict[str, Any]]:
    """Fired risk flags, most severe first (file order within a severity)."""
    fired = [
        {
            "id": f.id,
            "label": f.label,
            "severity": f.severity,
            "reason": f.reason.render(facts),
            "evidence": f.evidence,
            "sources": list(f.sources),
        }
        for f in flags
        if f.when.fn(facts)
    ]
    fired.sort(key=lambda f: SEVERITIES.index(f["severity"]))
    return fired
