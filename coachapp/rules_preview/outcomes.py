"""What a runner's answers come to under one rule set, and how two rule sets differ on them.

Used by the what-if simulator and the replay (issue 15.3). No database, no Flask, no clock:
``today`` and the lead's context are passed in. The lead tier is scored exactly as the app
scores it — the same facts (``leads.triage.build_facts``, given plain objects instead of rows)
and ``leads.priority.score_lead`` under the rule set being tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

from coachapp.assessment import Rules, evaluate
from coachapp.leads.priority import score_lead
from coachapp.leads.triage import build_facts

#: what the replay counts, in the order the pages list them
CATEGORIES = ("top_priority", "safety", "plan", "tier")
CATEGORY_LABELS = {"top_priority": "Top priority", "safety": "Safety outcome", "plan": "Plan", "tier": "Lead tier"}


@dataclass(frozen=True)
class LeadContext:
    """What the tier reads besides the assessment: the lead's stage, whether they replied, and
    the answers of their latest strategy-session request (None: no request)."""

    stage: str = "new"
    replied: bool = False
    request_answers: Mapping[str, Any] | None = None


NEW_LEAD = LeadContext()


@dataclass(frozen=True)
class Outcome:
    safety: str  # ok / amber / red
    safety_fired: tuple[str, ...]  # the red and amber rules that fired
    priorities: tuple[tuple[str, str, float], ...]  # (region id, label, score), ranked
    flags: tuple[str, ...]  # risk flag ids
    flag_labels: tuple[str, ...]
    plan: tuple[tuple[str, str], ...]  # (block, exercise id) in plan order; () when held back
    plan_names: Mapping[str, str]  # exercise id → name
    tier: str
    fit: int
    urgency: int
    engagement: int
    status: str  # the tier's status: normal, clinician_first …

    @property
    def top(self) -> str | None:
        return self.priorities[0][0] if self.priorities else None

    @property
    def top_label(self) -> str | None:
        return self.priorities[0][1] if self.priorities else None

    @property
    def plan_ids(self) -> tuple[str, ...]:
        return tuple(ex for _, ex in self.plan)

    def blocks(self) -> list[tuple[str, list[str]]]:
        """The plan's exercise names per block, in plan order."""
        out: dict[str, list[str]] = {}
        for block, ex in self.plan:
            out.setdefault(block, []).append(self.plan_names.get(ex, ex))
        return list(out.items())

    def key(self, category: str) -> Any:
        """What the replay compares per category."""
        if category == "top_priority":
            return self.top
        if category == "safety":
            return (self.safety, self.safety_fired)
        if category == "plan":
            return self.plan_ids
        return self.tier

    def brief(self) -> dict[str, Any]:
        """The compact record a replay stores for a changed runner."""
        return {"top": self.top, "safety": self.safety, "fired": list(self.safety_fired),
                "plan": list(self.plan_ids), "tier": self.tier}


def outcome(rules: Rules, answers: Mapping[str, Any], today: date, lead: LeadContext = NEW_LEAD) -> Outcome:
    """Evaluate ``answers`` under ``rules`` and tier the lead with the facts the app builds."""
    result = evaluate(rules, answers, today)
    plan = result.plan or {}
    items = plan.get("items") or []
    now = datetime.combine(today, time(12), tzinfo=UTC)
    row = SimpleNamespace(stage=lead.stage, replied_at=now if lead.replied else None, needs_clinician=False)
    submission = SimpleNamespace(answers=answers, result={"flags": result.flags, "derived": result.derived,
                                                          "safety": result.safety})
    request = SimpleNamespace(answers=lead.request_answers) if lead.request_answers is not None else None
    priority = score_lead(rules.leads, build_facts(row, submission, request, now))  # type: ignore[arg-type]
    return Outcome(
        safety=result.safety["level"],
        safety_fired=tuple(f["id"] for f in result.safety["fired"]),
        priorities=tuple((p["region"], p["label"], p["score"]) for p in result.priorities),
        flags=tuple(f["id"] for f in result.flags),
        flag_labels=tuple(f["label"] for f in result.flags),
        plan=tuple((i["block"], i["exercise_id"]) for i in items),
        plan_names={i["exercise_id"]: i["name"] for i in items},
        tier=priority.tier, fit=priority.fit, urgency=priority.urgency, engagement=priority.engagement,
        status=priority.status,
    )


def changed(live: Outcome, draft: Outcome) -> tuple[str, ...]:
    """The categories whose outcome differs (empty: the same)."""
    return tuple(c for c in CATEGORIES if live.key(c) != draft.key(c))


def _listed(items: Any) -> str:
    items = list(items)
    return ", ".join(items) if items else "none"


def differences(live: Outcome, draft: Outcome) -> list[str]:
    """Every difference in words (the pages never rely on colour alone); empty: none."""
    out: list[str] = []
    if (live.safety, live.safety_fired) != (draft.safety, draft.safety_fired):
        out.append(f"Safety: {live.safety} ({_listed(live.safety_fired)}) under live, "
                   f"{draft.safety} ({_listed(draft.safety_fired)}) under the draft.")
    if live.top != draft.top:
        out.append(f"Top priority: {live.top_label or 'none'} under live, {draft.top_label or 'none'} under the draft.")
    if live.priorities != draft.priorities:
        def ranked(o: Outcome) -> str:
            return _listed(f"{label} {score:g}" for _, label, score in o.priorities)
        out.append(f"Priorities (with scores): {ranked(live)} under live, {ranked(draft)} under the draft.")
    if set(live.flags) != set(draft.flags):
        names = {**dict(zip(live.flags, live.flag_labels, strict=True)),
                 **dict(zip(draft.flags, draft.flag_labels, strict=True))}
        gone = sorted(names[f] for f in set(live.flags) - set(draft.flags))
        new = sorted(names[f] for f in set(draft.flags) - set(live.flags))
        out.append(f"Risk flags: the draft {'adds ' + _listed(new) if new else ''}"
                   f"{' and ' if new and gone else ''}{'drops ' + _listed(gone) if gone else ''}.")
    if live.plan != draft.plan:
        out.append("Plan: " + plan_change(live.plan_ids, draft.plan_ids, {**live.plan_names, **draft.plan_names}))
    if (live.tier, live.fit, live.urgency, live.engagement) != (draft.tier, draft.fit, draft.urgency,
                                                                 draft.engagement):
        out.append(f"Lead tier: {live.tier} (fit {live.fit}, urgency {live.urgency}, engagement "
                   f"{live.engagement}) under live, {draft.tier} (fit {draft.fit}, urgency {draft.urgency}, "
                   f"engagement {draft.engagement}) under the draft.")
    return out


def plan_change(before: Any, after: Any, names: Mapping[str, str]) -> str:
    """"adds X; drops Y" (or "same exercises, another order"), in exercise names."""
    before, after = list(before), list(after)
    if not before and after:
        return "held back under live, a plan under the draft."
    if before and not after:
        return "a plan under live, held back under the draft."
    added = [names.get(e, e) for e in after if e not in before]
    dropped = [names.get(e, e) for e in before if e not in after]
    parts = ([f"the draft adds {', '.join(added)}"] if added else []) + (
        [f"drops {', '.join(dropped)}"] if dropped else [])
    return ("; ".join(parts) if parts else "the same exercises in another order or block") + "."
