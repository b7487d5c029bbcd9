"""Condition → message rules: safety red/amber flags and the coach's risk flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Issues, Node, check_unique, file_header, judgement
from .conditions import Condition, Facts, RefTable, compile_condition
from .templates import Labels, Template, compile_template

SEVERITIES = ("high", "medium", "low")
LEVELS = {"red": "see_clinician", "amber": "plan_limited"}
# What an amber rule changes in the plan (rules/README.md, "Amber gates"):
#   avoid_painful_areas  - nothing that loads the areas named by restrict_areas(_from)
#   no_high_intensity    - no exercise marked `intensity: high` and no quality runs
#   no_load_progression  - no exercise marked `progressive: true`; strength held at a light,
#                          steady load (each strength item says so)
GATES = ("avoid_painful_areas", "no_high_intensity", "no_load_progression")


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
    gates: tuple[str, ...] = ()


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
        node = Node(raw, f"flag '{ident}'", issues, keys, ("notes", "coach_judgement"))
        if not node.ok:
            continue
        flag_sources = node.sources(sources)
        judgement(node, flag_sources, node.raw("when"))
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
                    flag_sources,
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
    gate_targets: Mapping[str, int] | None = None,
) -> SafetyConfig:
    """Load red/amber rules; every amber rule declares the gates it applies to the plan.

    ``gate_targets`` counts the exercises each gate can remove; a gate that can remove
    nothing is an error (the plan would claim a change it cannot make).
    """
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
            ("notes", "restrict_areas", "restrict_areas_from", "gates", "coach_judgement"),
        )
        if not node.ok:
            continue
        rule_sources = node.sources(sources)
        judgement(node, rule_sources, node.raw("when"))
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
        gates = _gates(node, level, bool(restrict or from_ref), gate_targets or {})
        when = compile_condition(node.raw("when"), refs, issues, node.where)
        reason = compile_template(node.raw("reason"), refs, labels, issues, node.where)
        if level and when and reason:
            rules.append(
                SafetyRule(
                    str(ident),
                    level,
                    when,
                    reason,
                    rule_sources,
                    restrict,
                    from_ref,
                    gates,
                )
            )
    return SafetyConfig(messages, tuple(rules))


def _gates(node: Node, level: str | None, restricts: bool, targets: Mapping[str, int]) -> tuple[str, ...]:
    gates = node.str_list("gates")
    for gate in gates:
        if gate not in GATES:
            node.issues.add(node.where, f"unknown gate '{gate}' (use {', '.join(GATES)})")
        elif gate in targets and not targets[gate]:
            node.issues.add(node.where, f"gate '{gate}' can remove nothing: no exercise is marked for it")
    if level == "red" and gates:
        node.issues.add(node.where, "red rules stop the plan; 'gates' are for amber rules")
    if level == "amber" and not gates:
        node.issues.add(node.where, f"an amber rule must say what it gates ('gates': {', '.join(GATES)})")
    if level == "amber" and restricts != ("avoid_painful_areas" in gates):
        node.issues.add(node.where, "'avoid_painful_areas' goes with restrict_areas / restrict_areas_from")
    return gates


def check_safety(
    config: SafetyConfig, facts: Facts
) -> tuple[dict[str, Any], frozenset[str], frozenset[str]]:
    """Return the safety summary, the areas an amber plan must not load, and its gates."""
    fired, areas, gates = [], set(), set()
    for rule in config.rules:
        if rule.when.fn(facts):
            fired.append(
                {
                    "id": rule.id,
                    "level": rule.level,
                    "reason": rule.reason.render(facts),
                    "sources": list(rule.sources),
                    "gates": list(rule.gates),
                }
            )
            gates.update(rule.gates)
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
        "gates": [g for g in GATES if g in gates] if level == "amber" else [],
    }
    return summary, frozenset(areas), frozenset(gates)


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
