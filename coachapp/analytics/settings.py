"""``rules/insights.yaml``: how few leads are too few to say anything, and how long counts stay fresh (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the rules loader imports this module: its helpers are imported when called
    from coachapp.assessment._schema import Issues

#: 95 %: the level every interval on the Outcomes page uses (not a setting: the copy says 95 %).
CONFIDENCE = 0.95


@dataclass(frozen=True)
class InsightRules:
    #: A rate whose denominator is below this is shown as "too few leads to say".
    minimum_leads: int = 20
    #: The page's counts are reused for this long before they are counted again.
    snapshot_minutes: int = 10


def load_insight_rules(data: Any, issues: Issues) -> InsightRules:
    """Validate ``rules/insights.yaml``; every problem names its field."""
    from coachapp.assessment._schema import Node, file_header, judgement

    head = file_header(data, issues, ("outcomes", "snapshot"))
    if not head.ok:
        return InsightRules()
    node = Node(head.raw("outcomes"), "outcomes", issues, ("minimum_leads", "coach_judgement"))
    fresh = Node(head.raw("snapshot"), "snapshot", issues, ("minutes", "coach_judgement"))
    if not node.ok or not fresh.ok:
        return InsightRules()
    judgement(node, ())
    judgement(fresh, ())
    minimum, minutes = node.raw("minimum_leads"), fresh.raw("minutes")
    if isinstance(minimum, bool) or not isinstance(minimum, int) or not 1 <= minimum <= 10_000:
        issues.add("outcomes", f"'minimum_leads' must be a whole number from 1 to 10000, got {minimum!r}")
        return InsightRules()
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 1440:
        issues.add("snapshot", f"'minutes' must be a whole number from 0 to 1440, got {minutes!r}")
        return InsightRules()
    return InsightRules(minimum_leads=minimum, snapshot_minutes=minutes)
