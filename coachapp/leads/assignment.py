"""Choosing a coach for a new lead, from ``rules/leads/assignment.yaml``.

Eligibility: an active coach who covers at least one wanted service (a service is covered when
the coach lists its ``covered_by`` capability, or always for ``covered_by: any``, and when the
coach works the way the service ``needs``) and who works the wanted way (in person / online).
When some eligible coaches cover *every* wanted service, only they are considered. Strategy
``round_robin``: the eligible coach assigned least recently wins; never-assigned coaches come
first; ties go to the lowest id. Fallback ``owner`` (the only one): nobody eligible → the active
owner (lowest id); no active owner → unassigned. Pure: the caller passes the coaches and updates
``last_assigned_at`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from coachapp.assessment._schema import Issues, Node, file_header
from coachapp.assessment.conditions import RefType
from coachapp.assessment.templates import Template, compile_template

from .worktime import WorkingHours, parse_working_hours

SERVICES = ("personal_training", "mobility_coaching", "kinstretch", "online_coaching", "not_sure")
DELIVERIES = ("in_person", "online", "either")
NEEDS = ("in_person", "online", "any")
STRATEGIES = ("round_robin",)
FALLBACKS = ("owner",)
REASON_KEYS = ("round_robin", "round_robin_first", "only_one", "partial_cover", "fallback_owner", "no_owner")
_FIELDS = {"count": RefType("number"), **{k: RefType("text") for k in ("services", "delivery", "coach")}}


@dataclass(frozen=True, slots=True)
class CoachView:
    """What assignment needs to know about a coach (built by the app from its model)."""

    id: int
    active: bool
    services: frozenset[str]
    in_person: bool
    online: bool
    is_owner: bool = False
    last_assigned_at: datetime | None = None
    name: str = ""

    @property
    def display(self) -> str:
        return self.name or f"coach #{self.id}"


@dataclass(frozen=True, slots=True)
class ServiceRule:
    id: str
    label: str
    covered_by: str  # a service id the coach must list, or "any"
    needs: str  # in_person | online | any


@dataclass(frozen=True, slots=True)
class DeliveryRule:
    id: str
    label: str
    needs: str


@dataclass(frozen=True)
class AssignmentRules:
    strategy: str
    fallback: str
    any_service_label: str
    services: Mapping[str, ServiceRule]
    delivery: Mapping[str, DeliveryRule]
    reasons: Mapping[str, Template]
    working_hours: WorkingHours | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """The chosen coach (None when nobody can take the lead) and why."""

    coach_id: int | None
    fallback: bool
    reason: str
    eligible: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "coach_id": self.coach_id,
            "fallback": self.fallback,
            "reason": self.reason,
            "eligible": list(self.eligible),
        }


def _needs(node: Node, allowed: tuple[str, ...]) -> str:
    return node.choice("needs", allowed, "any") or "any"


def load_assignment(data: Any, issues: Issues) -> AssignmentRules:
    """Validate ``leads/assignment.yaml``; problems go to ``issues``."""
    head = file_header(
        data,
        issues,
        ("strategy", "fallback", "services", "delivery", "reasons"),
        ("any_service_label", "working_hours"),
    )
    strategy = head.choice("strategy", STRATEGIES, "round_robin") or "round_robin"
    fallback = head.choice("fallback", FALLBACKS, "owner") or "owner"
    services: dict[str, ServiceRule] = {}
    raw_services = head.mapping("services")
    for sid in [s for s in raw_services if s not in SERVICES]:
        issues.add(f"service '{sid}'", f"unknown service (the lead form offers {', '.join(SERVICES)})")
    for sid in SERVICES:
        if sid not in raw_services:
            issues.add(f"service '{sid}'", "missing: every service on the lead form needs an entry")
            continue
        node = Node(raw_services[sid], f"service '{sid}'", issues, ("label", "covered_by"), ("needs",))
        covered = node.str("covered_by") or "any"
        if covered != "any" and covered not in SERVICES:
            issues.add(node.where, f"'covered_by' must be 'any' or a service id, got '{covered}'")
        services[sid] = ServiceRule(sid, node.str("label") or sid, covered, _needs(node, NEEDS))
    delivery: dict[str, DeliveryRule] = {}
    raw_delivery = head.mapping("delivery")
    for did in [d for d in raw_delivery if d not in DELIVERIES]:
        issues.add(f"delivery '{did}'", f"unknown delivery (use {', '.join(DELIVERIES)})")
    for did in DELIVERIES:
        if did not in raw_delivery:
            issues.add(f"delivery '{did}'", "missing entry")
            continue
        node = Node(raw_delivery[did], f"delivery '{did}'", issues, ("label", "needs"))
        delivery[did] = DeliveryRule(did, node.str("label") or did, _needs(node, NEEDS))
    reasons_node = Node(head.raw("reasons"), "reasons", issues, REASON_KEYS)
    reasons = {}
    for key in REASON_KEYS:
        if reasons_node.has(key):
            template = compile_template(reasons_node.raw(key), _FIELDS, {}, issues, f"reason '{key}'")
            if template is not None:
                reasons[key] = template
    hours = None
    if head.has("working_hours"):
        wh = Node(head.raw("working_hours"), "working_hours", issues, ("time_zone", "week"), ("days_off",))
        if wh.ok:
            try:
                hours = parse_working_hours(wh.mapping("week"), str(wh.raw("time_zone")), wh.str_list("days_off"))
            except ValueError as exc:
                issues.add("working_hours", str(exc))
    return AssignmentRules(
        strategy=strategy,
        fallback=fallback,
        any_service_label=head.str("any_service_label") or "any service",
        services=MappingProxyType(services),
        delivery=MappingProxyType(delivery),
        reasons=MappingProxyType(reasons),
        working_hours=hours,
    )


def _works(coach: CoachView, needs: str) -> bool:
    if needs == "in_person":
        return coach.in_person
    if needs == "online":
        return coach.online
    return coach.in_person or coach.online


def _covers(coach: CoachView, service: ServiceRule) -> bool:
    listed = service.covered_by == "any" or service.covered_by in coach.services
    return listed and (service.needs == "any" or _works(coach, service.needs))


def _round_robin_key(coach: CoachView) -> tuple[bool, datetime | None, int]:
    return (coach.last_assigned_at is not None, coach.last_assigned_at, coach.id)


def choose_coach(
    rules: AssignmentRules,
    coaches: Iterable[CoachView],
    services: Iterable[str] | None,
    delivery: str | None,
) -> Assignment:
    """Pick a coach for a lead wanting ``services`` delivered ``delivery`` (None = either).

    No services (or only ``not_sure``) means any active coach. Raises ValueError on a service
    or delivery value the rules do not know.
    """
    coaches = list(coaches)
    wanted_ids = list(dict.fromkeys(services or ())) or ["not_sure"]
    unknown = [s for s in wanted_ids if s not in rules.services]
    if unknown or (delivery is not None and delivery not in rules.delivery):
        raise ValueError(f"unknown service or delivery: {unknown or delivery!r}")
    wanted = [rules.services[s] for s in wanted_ids]
    how = rules.delivery[delivery or "either"]
    pool = [c for c in coaches if c.active and _works(c, how.needs)]
    eligible = [c for c in pool if any(_covers(c, s) for s in wanted)]
    full = [c for c in eligible if all(_covers(c, s) for s in wanted)]
    specific = [s.label for s in wanted if s.covered_by != "any"]
    fields: dict[str, Any] = {
        "services": " and ".join(specific) if specific else rules.any_service_label,
        "delivery": how.label,
    }
    if eligible:
        chosen_from = full or eligible
        chosen = min(chosen_from, key=_round_robin_key)
        fields.update(count=len(chosen_from), coach=chosen.display)
        if not full:
            fields["services"] = " or ".join(specific)
        if len(chosen_from) == 1:
            key = "only_one"
        else:
            key = "round_robin" if chosen.last_assigned_at is not None else "round_robin_first"
        text = _render(rules, key, fields)
        if not full:
            text = _render(rules, "partial_cover", fields) + " " + text
        return Assignment(chosen.id, False, text, tuple(sorted(c.id for c in chosen_from)))
    owners = sorted((c for c in coaches if c.active and c.is_owner), key=lambda c: c.id)
    if owners:
        fields["coach"] = owners[0].display
        return Assignment(owners[0].id, True, _render(rules, "fallback_owner", fields))
    return Assignment(None, True, _render(rules, "no_owner", fields))


def _render(rules: AssignmentRules, key: str, fields: Mapping[str, Any]) -> str:
    template = rules.reasons.get(key)
    return template.render(fields) if template else ""
