"""Choosing a coach: round-robin fairness, eligibility by service and delivery, fallbacks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coachapp.assessment import load_rules
from coachapp.leads.assignment import AssignmentRules, CoachView, choose_coach

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules() -> AssignmentRules:
    return load_rules(RULES_DIR).leads.assignment


def coach(
    cid: int,
    services: set[str],
    *,
    in_person: bool = True,
    online: bool = True,
    active: bool = True,
    owner: bool = False,
    last: datetime | None = None,
    name: str = "",
) -> CoachView:
    return CoachView(
        id=cid,
        active=active,
        services=frozenset(services),
        in_person=in_person,
        online=online,
        is_owner=owner,
        last_assigned_at=last,
        name=name,
    )


TEAM = [
    coach(1, {"personal_training", "mobility_coaching"}, name="Brian", owner=True),
    coach(2, {"mobility_coaching", "kinstretch"}, name="Sam"),
    coach(3, {"kinstretch", "online_coaching"}, in_person=False, name="Alex"),
    coach(4, {"kinstretch", "mobility_coaching"}, name="Jo", active=False),
    coach(5, {"personal_training"}, online=False, name="Kim"),
]


def simulate(rules: AssignmentRules, coaches: list[CoachView], n: int, **lead: object) -> list[int | None]:
    """Assign n leads, stamping last_assigned_at like the app does."""
    chosen = []
    for i in range(n):
        a = choose_coach(rules, coaches, **lead)
        chosen.append(a.coach_id)
        coaches = [replace(c, last_assigned_at=T0 + timedelta(minutes=i)) if c.id == a.coach_id else c for c in coaches]
    return chosen


def test_round_robin_is_fair_and_rotates(rules: AssignmentRules) -> None:
    coaches = [
        coach(7, {"mobility_coaching"}, name="C"),
        coach(3, {"mobility_coaching"}, name="A"),
        coach(5, {"mobility_coaching"}, name="B"),
        coach(9, {"mobility_coaching"}, active=False),
        coach(2, {"kinstretch"}),  # not eligible
    ]
    chosen = simulate(rules, coaches, 30, services=["mobility_coaching"], delivery="in_person")
    assert Counter(chosen) == {3: 10, 5: 10, 7: 10}
    assert chosen[:6] == [3, 5, 7, 3, 5, 7]  # never assigned first, ties by lowest id, then rotation
    assert chosen == [3, 5, 7] * 10


def test_least_recently_assigned_wins(rules: AssignmentRules) -> None:
    coaches = [
        coach(1, {"kinstretch"}, last=T0 - timedelta(hours=1), name="Pat"),
        coach(2, {"kinstretch"}, last=T0 - timedelta(days=2), name="Sam"),
    ]
    a = choose_coach(rules, coaches, services=["kinstretch"], delivery="in_person")
    assert (a.coach_id, a.fallback, a.eligible) == (2, False, (1, 2))
    assert a.reason == "Round robin among 2 coaches who cover KINSTRETCH in person; Sam was assigned least recently."
    team = [*coaches, coach(8, {"kinstretch"}, name="Lee")]
    fresh = choose_coach(rules, team, services=["kinstretch"], delivery=None)
    assert fresh.coach_id == 8
    assert fresh.reason.endswith("Lee has not been assigned a lead yet.")
    assert "in person or online" in fresh.reason


def test_inactive_coaches_are_never_chosen(rules: AssignmentRules) -> None:
    chosen = simulate(rules, TEAM, 12, services=["kinstretch"], delivery="either")
    assert 4 not in chosen
    assert set(chosen) == {2, 3}


@pytest.mark.parametrize(
    ("services", "delivery", "eligible"),
    [
        (["kinstretch"], "in_person", (2,)),
        (["kinstretch"], "online", (2, 3)),
        (["kinstretch"], "either", (2, 3)),
        (["personal_training"], "in_person", (1, 5)),
        (["personal_training"], "online", (1,)),
        (["online_coaching"], "either", (3,)),
        (["not_sure"], "either", (1, 2, 3, 5)),
        (["not_sure"], "online", (1, 2, 3)),
        ([], None, (1, 2, 3, 5)),
        (["mobility_coaching", "kinstretch"], "in_person", (2,)),  # covers both: preferred
        (["not_sure", "kinstretch"], "either", (2, 3)),
    ],
)
def test_service_and_delivery_filtering(
    rules: AssignmentRules, services: list[str], delivery: str | None, eligible: tuple[int, ...]
) -> None:
    a = choose_coach(rules, TEAM, services=services, delivery=delivery)
    assert a.eligible == eligible
    assert a.coach_id == eligible[0] and not a.fallback


def test_not_sure_reads_as_any_service(rules: AssignmentRules) -> None:
    a = choose_coach(rules, TEAM, services=["not_sure"], delivery="online")
    assert a.reason == (
        "Round robin among 3 coaches who cover any service online; Brian has not been assigned a lead yet."
    )


def test_when_nobody_covers_everything_any_one_service_counts(rules: AssignmentRules) -> None:
    a = choose_coach(rules, TEAM, services=["personal_training", "kinstretch"], delivery="in_person")
    assert a.eligible == (1, 2, 5)
    assert a.reason.startswith("No active coach covers all of the services wanted in person. Round robin among 3")
    assert "who cover personal training or KINSTRETCH in person" in a.reason


def test_single_eligible_coach(rules: AssignmentRules) -> None:
    a = choose_coach(rules, TEAM, services=["online_coaching"], delivery="online")
    assert (a.coach_id, a.eligible) == (3, (3,))
    assert a.reason == "Alex is the only active coach who covers online coaching online."


def test_fallback_to_the_owner_with_a_reason(rules: AssignmentRules) -> None:
    a = choose_coach(rules, TEAM, services=["online_coaching"], delivery="in_person")
    assert (a.coach_id, a.fallback, a.eligible) == (1, True, ())
    assert a.reason == "No active coach covers online coaching in person, so the lead goes to the owner, Brian."
    assert a.to_dict() == {"coach_id": 1, "fallback": True, "reason": a.reason, "eligible": []}


def test_no_active_owner_leaves_the_lead_unassigned(rules: AssignmentRules) -> None:
    team = [replace(c, active=False) if c.is_owner else c for c in TEAM]
    a = choose_coach(rules, team, services=["online_coaching"], delivery="in_person")
    assert a.coach_id is None and a.fallback
    assert a.reason == (
        "No active coach covers online coaching in person and there is no active owner: the lead stays unassigned."
    )
    assert choose_coach(rules, [], services=["kinstretch"], delivery="online").coach_id is None


def test_unnamed_coach_and_unknown_values(rules: AssignmentRules) -> None:
    a = choose_coach(rules, [coach(4, {"kinstretch"})], services=["kinstretch"], delivery="online")
    assert a.reason.startswith("coach #4 is the only active coach")
    with pytest.raises(ValueError, match="unknown service"):
        choose_coach(rules, TEAM, services=["yoga"], delivery="online")
    with pytest.raises(ValueError, match="unknown service or delivery"):
        choose_coach(rules, TEAM, services=["kinstretch"], delivery="by_mail")


def test_default_working_hours_come_from_the_rules(rules: AssignmentRules) -> None:
    hours = rules.working_hours
    assert hours is not None and hours.tz.key == "America/Chicago"
    assert hours.week[0] == ((9 * 60, 17 * 60),) and hours.week[5] == ()
