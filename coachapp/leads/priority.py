"""Lead priority from ``rules/leads/priority.yaml``: fit, urgency and engagement, tier, SLA.

The app builds a flat *facts* mapping (keys in ``FACT_TYPES``; any may be missing or None) and
calls ``score_lead(rules.leads, facts)``. Each axis is clamp(sum of fired rule points, 0, 100),
rounded half up; intent combines urgency and engagement (``tiering.intent``: max or mean); the
tier is the fit band letter + the intent band digit ("A1".."C3"), which gives the coach's
action and response SLA in working minutes. Overrides run first (file order, first match
wins) and may replace the action and SLA or only prefix the action. Pure and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

from coachapp.assessment._schema import Issues, Node, check_unique, file_header, judgement
from coachapp.assessment.conditions import Condition, RefTable, RefType, compile_condition
from coachapp.assessment.templates import Labels, Template, compile_template

from .assignment import SERVICES, AssignmentRules, load_assignment
from .task_rules import TaskRules, load_task_rules

AXES = ("fit", "urgency", "engagement")
STATUSES = ("normal", "clinician_first", "clearance_recommended", "closed")
FIT_BANDS, INTENT_BANDS = ("A", "B", "C"), ("1", "2", "3")
TIERS = tuple(f + i for f in FIT_BANDS for i in INTENT_BANDS)
LABELLED_HERE = ("dealing_with", "start_timing", "stage", "safety_level")
DEALING_WITH = ("pain", "injury", "stalled", "structure", "performance", "general_health", "not_running")
STAGES = ("new", "contacted", "session_booked", "session_held", "no_show", "client", "nurture", "lost")


def _choice(*options: str) -> RefType:
    return RefType("choice", frozenset(options))


#: The facts contract. goal_event and desk_hours take the assessment's options when loaded
#: with it; flags takes the risk flag ids from scoring/risk_flags.yaml.
FACT_TYPES: Mapping[str, RefType] = MappingProxyType({
    **{k: RefType("bool") for k in ("in_area", "is_runner", "recent_injury", "assessment_completed",
                                    "strategy_requested", "session_booked", "replied", "unsubscribed",
                                    "retake_progress")},
    **{k: RefType("number") for k in ("weeks_to_race", "current_pain", "self_tests_done")},
    "service_interest": RefType("choices", frozenset(SERVICES)),
    "dealing_with": RefType("choices", frozenset(DEALING_WITH)),
    "flags": RefType("flags"),
    "delivery": _choice("in_person", "online", "either"),
    "goal_event": _choice("none", "5k_10k", "half", "marathon", "ultra", "trail_race"),
    "start_timing": _choice("asap", "within_month", "within_3_months", "exploring"),
    "desk_hours": _choice("<4", "4-6", "6-8", "8-10", ">10"),
    "safety_level": _choice("ok", "amber", "red"),
    "stage": _choice(*STAGES),
})


@dataclass(frozen=True, slots=True)
class LeadRule:
    id: str
    axis: str
    when: Condition
    points: float
    reason: Template


@dataclass(frozen=True, slots=True)
class Override:
    """Replaces the tier's action and SLA (``action``) or keeps them and prefixes the action."""

    id: str
    when: Condition
    status: str
    reason: Template
    action: str | None
    action_prefix: str
    sla_minutes: int | None
    intent_floor: str | None = None  # e.g. "1": a lead who needs a human today is never X3


@dataclass(frozen=True, slots=True)
class ScoreBand:
    name: str
    lo: float | None  # inclusive
    hi: float | None  # exclusive
    says: str = ""  # the band in a coach's words, e.g. "a strong fit for coaching"


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    action: str
    sla_minutes: int | None


@dataclass(frozen=True)
class LeadRules:
    overrides: tuple[Override, ...]
    rules: Mapping[str, tuple[LeadRule, ...]]
    intent: str
    working_day_hours: float
    fit_bands: tuple[ScoreBand, ...]
    intent_bands: tuple[ScoreBand, ...]
    tiers: Mapping[str, Tier]
    assignment: AssignmentRules
    facts: RefTable
    tasks: TaskRules = TaskRules()

    def tier_in_words(self, tier: str | None) -> str:
        """'A2' → 'a strong fit for what we coach, wants help soon' (from the bands' ``says``)."""
        if not tier or len(tier) != 2:
            return ""
        fit = next((b.says for b in self.fit_bands if b.name == tier[0]), "")
        intent = next((b.says for b in self.intent_bands if b.name == tier[1]), "")
        return ", ".join(filter(None, (fit, intent)))


@dataclass(frozen=True)
class LeadPriority:
    fit: int
    urgency: int
    engagement: int
    intent: int
    tier: str
    status: str
    action: str
    sla_working_minutes: int | None
    reasons: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable; ``LeadPriority.from_dict`` rebuilds an equal object."""
        return {**asdict(self), "reasons": [dict(r) for r in self.reasons]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadPriority:
        return cls(**{**data, "reasons": tuple(dict(r) for r in data["reasons"])})


def _sla(node: Node, day_hours: float) -> tuple[bool, int | None]:
    """Read ``sla``: ``none`` or ``{working_hours: n}`` / ``{working_days: n}`` (n > 0)."""
    raw = node.raw("sla")
    if raw == "none":
        return True, None
    sla = Node(raw if isinstance(raw, Mapping) else {}, node.where, node.issues, (), ("working_hours", "working_days"))
    given = [k for k in ("working_hours", "working_days") if sla.has(k)]
    amount = sla.num(given[0]) if len(given) == 1 else None
    if amount is None or amount <= 0:
        expected = "none, {working_hours: n} or {working_days: n} with n > 0"
        node.issues.add(node.where, f"'sla' must be {expected}, got {raw!r}")
        return False, None
    hours = amount * day_hours if given[0] == "working_days" else amount
    return True, math.floor(hours * 60 + 0.5)


def _bands(raw: Any, names: tuple[str, ...], where: str, issues: Issues) -> tuple[ScoreBand, ...]:
    """Bands over the 0–100 score: ``{name: {gte, lt}}`` contiguous, no overlaps or gaps."""
    if not isinstance(raw, Mapping):
        issues.add(where, "expected a mapping of band name -> {gte, lt}")
        return ()
    for name in raw:
        if name not in names:
            hint = " (quote digits: \"1\")" if not isinstance(name, str) else ""
            issues.add(where, f"unknown band {name!r}{hint} (use {', '.join(names)})")
    bands = []
    for name in names:
        if name not in raw:
            issues.add(where, f"missing band '{name}'")
            continue
        node = Node(raw[name], f"{where} '{name}'", issues, ("says",), ("gte", "lt"))
        bands.append(ScoreBand(name, node.num("gte"), node.num("lt"), node.str("says") or ""))
    ordered = sorted(bands, key=lambda b: -math.inf if b.lo is None else b.lo)
    for band in ordered:
        if band.lo is not None and band.hi is not None and band.lo >= band.hi:
            issues.add(f"{where} '{band.name}'", f"band [{band.lo:g}, {band.hi:g}) is empty")
    if len(ordered) != len(names):
        return tuple(ordered)
    if ordered[0].lo is not None and ordered[0].lo > 0:
        issues.add(where, f"bands leave scores below {ordered[0].lo:g} uncovered")
    if ordered[-1].hi is not None and ordered[-1].hi <= 100:
        issues.add(where, f"bands leave scores from {ordered[-1].hi:g} uncovered")
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if prev.hi is None or nxt.lo is None or nxt.lo < prev.hi:
            issues.add(where, f"bands '{prev.name}' and '{nxt.name}' overlap")
        elif nxt.lo > prev.hi:
            issues.add(where, f"bands leave a gap between {prev.hi:g} and {nxt.lo:g}")
    return tuple(ordered)


def lead_fact_types(assessment_refs: RefTable, flag_ids: frozenset[str]) -> dict[str, RefType]:
    """FACT_TYPES with the assessment's goal_event/desk_hours options and the risk flag ids."""
    table = dict(FACT_TYPES)
    for key in ("goal_event", "desk_hours"):
        if key in assessment_refs and assessment_refs[key].kind == "choice":
            table[key] = assessment_refs[key]
    table["flags"] = RefType("flags", flag_ids)
    return table


class _Compiler:
    """Compiles ``when`` and text keys of one file against the lead facts."""

    def __init__(self, facts: RefTable, labels: Labels, issues: Issues) -> None:
        self.facts, self.labels, self.issues = facts, labels, issues

    def when(self, node: Node) -> Condition | None:
        return compile_condition(node.raw("when"), self.facts, self.issues, node.where)

    def text(self, node: Node, key: str) -> Template | None:
        return compile_template(node.raw(key), self.facts, self.labels, self.issues, node.where)


def _where(kind: str, raw: Any) -> str:
    return f"{kind} '{raw.get('id') if isinstance(raw, Mapping) else raw}'"


def _overrides(entries: list[Any], c: _Compiler, day_hours: float) -> tuple[Override, ...]:
    out = []
    for raw in entries:
        keys = ("action", "action_prefix", "sla", "notes", "intent_floor")
        node = Node(raw, _where("override", raw), c.issues, ("id", "when", "status", "reason"), keys)
        status = node.choice("status", STATUSES[1:])
        when, reason = (c.when(node), c.text(node, "reason")) if node.ok else (None, None)
        replaces = node.has("action")
        if replaces == node.has("action_prefix") or replaces != node.has("sla"):
            c.issues.add(node.where, "needs either 'action' + 'sla' (replace) or 'action_prefix' (keep the tier's)")
            continue
        ok, sla = _sla(node, day_hours) if replaces else (True, None)
        if status == "closed" and (not replaces or sla is not None):
            c.issues.add(node.where, "a 'closed' override must replace the action with 'sla: none'")
        elif status and when and reason and ok:
            prefix = node.str("action_prefix", "") or ""
            floor = node.choice("intent_floor", INTENT_BANDS)
            out.append(Override(str(node.raw("id")), when, status, reason, node.str("action"), prefix, sla,
                                floor))
    return tuple(out)


def _axis_rules(axis: str, entries: list[Any], c: _Compiler) -> tuple[LeadRule, ...]:
    out = []
    for raw in entries:
        node = Node(raw, _where("rule", raw), c.issues, ("id", "when", "points", "reason"), ("notes",))
        if node.ok:
            when, reason, points = c.when(node), c.text(node, "reason"), node.num("points")
            if when and reason and points is not None:
                out.append(LeadRule(str(node.raw("id")), axis, when, points, reason))
    return tuple(out)


def _tiers(raw_tiers: Mapping[str, Any], issues: Issues, day_hours: float) -> dict[str, Tier]:
    tiers: dict[str, Tier] = {}
    for name in [t for t in raw_tiers if t not in TIERS]:
        issues.add(f"tier '{name}'", f"unknown tier (use {', '.join(TIERS)})")
    for name in TIERS:
        if name not in raw_tiers:
            issues.add(f"tier '{name}'", "missing: every tier needs an 'action' and an 'sla'")
            continue
        node = Node(raw_tiers[name], f"tier '{name}'", issues, ("action", "sla"), ("notes",))
        ok, sla = _sla(node, day_hours) if node.ok else (False, None)
        if ok:
            tiers[name] = Tier(name, node.str("action") or "", sla)
    return tiers


def load_lead_rules(
    priority: Any, assignment: Any, issues: Issues, assignment_issues: Issues, facts: RefTable, labels: Labels
) -> LeadRules:
    """Validate and compile ``leads/priority.yaml`` and ``leads/assignment.yaml``.

    ``facts`` is the ref table (see ``lead_fact_types``); ``labels`` option labels by fact.
    """
    assign = load_assignment(assignment, assignment_issues)
    head = file_header(
        priority, issues, ("overrides", "scores", "tiering", "tiers", "tasks"), ("labels", "coach_judgement")
    )
    # Every weight, band and SLA here is a starting model until outcomes exist (research §4.1).
    judgement(head, (), {"scores": head.raw("scores"), "tiering": head.raw("tiering")})
    all_labels: dict[str, Mapping[str, str]] = {
        **labels,
        "service_interest": {s.id: s.label for s in assign.services.values()},
        "delivery": {d.id: d.label for d in assign.delivery.values()},
    }
    for ref, mapping in head.mapping("labels").items():
        if ref not in LABELLED_HERE:
            issues.add(f"labels '{ref}'", f"only {', '.join(LABELLED_HERE)} are labelled here")
            continue
        node = Node(mapping, f"labels '{ref}'", issues, (), tuple(sorted(facts[ref].options)))
        all_labels[ref] = {k: node.str(k) or k for k in node.data}
    tiering = Node(head.raw("tiering"), "tiering", issues, ("intent", "fit_bands", "intent_bands", "working_day_hours"))
    day_hours = tiering.num("working_day_hours", 8) or 8
    if day_hours <= 0:
        issues.add("tiering", "'working_day_hours' must be more than 0")
        day_hours = 8
    scores = Node(head.raw("scores"), "scores", issues, AXES)
    overrides, by_axis = head.list("overrides"), {a: scores.list(a) for a in AXES}
    entries = [*overrides, *(e for a in AXES for e in by_axis[a])]
    check_unique([e.get("id") for e in entries if isinstance(e, Mapping)], "rule", issues)
    compiler = _Compiler(facts, all_labels, issues)
    return LeadRules(
        overrides=_overrides(overrides, compiler, day_hours),
        rules=MappingProxyType({a: _axis_rules(a, by_axis[a], compiler) for a in AXES}),
        intent=tiering.choice("intent", ("max", "mean"), "max") or "max",
        working_day_hours=day_hours,
        fit_bands=_bands(tiering.raw("fit_bands"), FIT_BANDS, "fit_bands", issues),
        intent_bands=_bands(tiering.raw("intent_bands"), INTENT_BANDS, "intent_bands", issues),
        tiers=MappingProxyType(_tiers(head.mapping("tiers"), issues, day_hours)),
        assignment=assign,
        facts=MappingProxyType(dict(facts)),
        tasks=load_task_rules(head.raw("tasks"), issues, TIERS, STAGES),
    )


def clean_facts(facts: Mapping[str, Any], types: RefTable = FACT_TYPES) -> dict[str, Any]:
    """Drop None values, turn lists into tuples; ValueError on unknown keys or wrong types.

    Option values are not checked: an unknown value (e.g. from older data) matches no rule.
    """
    out: dict[str, Any] = {}
    problems = []
    for key, value in facts.items():
        rtype = types.get(key)
        if rtype is None:
            problems.append(f"unknown fact '{key}'")
            continue
        if value is None:
            continue
        kind = rtype.kind
        if kind in ("choices", "flags"):
            ok = isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value)
            if ok:
                value = tuple(sorted(value) if isinstance(value, set | frozenset) else value)
        elif kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, bool if kind == "bool" else str)
        if not ok:
            problems.append(f"fact '{key}' must be {kind}, got {value!r}")
        out[key] = value
    if problems:
        raise ValueError("; ".join(problems))
    return out


def _clamp(total: float) -> int:
    return max(0, min(100, math.floor(total + 0.5)))


def _band(bands: tuple[ScoreBand, ...], score: int) -> str:
    for band in bands:
        if (band.lo is None or score >= band.lo) and (band.hi is None or score < band.hi):
            return band.name
    raise ValueError(f"no band covers {score}")  # pragma: no cover - bands are validated


def _points(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


def score_lead(rules: LeadRules, facts: Mapping[str, Any]) -> LeadPriority:
    """Score a lead; see the module docstring. Raises ValueError on malformed facts."""
    clean = clean_facts(facts, rules.facts)
    reasons: list[dict[str, Any]] = []
    override = next((o for o in rules.overrides if o.when(clean)), None)
    if override is not None:
        reasons.append(
            {"axis": "override", "rule_id": override.id, "points": 0, "reason": override.reason.render(clean)}
        )
    totals = {}
    for axis in AXES:
        total = 0.0
        for rule in rules.rules[axis]:
            if rule.when(clean):
                total += rule.points
                reason = rule.reason.render(clean)
                reasons.append({"axis": axis, "rule_id": rule.id, "points": _points(rule.points), "reason": reason})
        totals[axis] = _clamp(total)
    urgency, engagement = totals["urgency"], totals["engagement"]
    intent = max(urgency, engagement) if rules.intent == "max" else _clamp((urgency + engagement) / 2)
    tier = _band(rules.fit_bands, totals["fit"]) + _band(rules.intent_bands, intent)
    if override is not None and override.intent_floor is not None:
        tier = tier[0] + min(tier[1], override.intent_floor)
    action, sla, status = rules.tiers[tier].action, rules.tiers[tier].sla_minutes, "normal"
    if override is not None:
        status = override.status
        if override.action is not None:
            action, sla = override.action, override.sla_minutes
        else:
            action = f"{override.action_prefix} {action}".strip()
    return LeadPriority(
        fit=totals["fit"],
        urgency=urgency,
        engagement=engagement,
        intent=intent,
        tier=tier,
        status=status,
        action=action,
        sla_working_minutes=sla,
        reasons=tuple(reasons),
    )
