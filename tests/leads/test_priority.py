"""Lead priority: personas, overrides, band edges, tiers and the serialised form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from coachapp.assessment import Rules, load_rules
from coachapp.leads.priority import TIERS, LeadPriority, LeadRules, clean_facts, score_lead

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

# Marathoner racing in 12 weeks, knee pain 4/10, wants mobility coaching in person in Austin, ASAP.
MARATHONER: dict[str, Any] = {
    "service_interest": ["mobility_coaching"],
    "delivery": "in_person",
    "in_area": True,
    "is_runner": True,
    "goal_event": "marathon",
    "weeks_to_race": 12,
    "current_pain": 4,
    "recent_injury": False,
    "dealing_with": ["pain"],
    "start_timing": "asap",
    "assessment_completed": True,
    "self_tests_done": 0,
    "strategy_requested": False,
    "session_booked": False,
    "replied": False,
    "desk_hours": "4-6",
    "safety_level": "ok",
    "flags": ["MARATHON_BUILD"],
    "stage": "new",
    "unsubscribed": False,
}

# Desk worker, not a runner, "not sure", just exploring, online.
CURIOUS_DESK_WORKER: dict[str, Any] = {
    "service_interest": ["not_sure"],
    "delivery": "online",
    "in_area": False,
    "is_runner": False,
    "goal_event": None,
    "weeks_to_race": None,
    "dealing_with": ["general_health"],
    "start_timing": "exploring",
    "assessment_completed": False,
    "desk_hours": "8-10",
    "safety_level": "ok",
    "stage": "new",
}


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES_DIR)


@pytest.fixture(scope="module")
def leads(rules: Rules) -> LeadRules:
    return rules.leads


def lead(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def by_axis(p: LeadPriority, axis: str) -> list[str]:
    return [r["rule_id"] for r in p.reasons if r["axis"] == axis]


def reason(p: LeadPriority, rule_id: str) -> dict[str, Any]:
    return next(r for r in p.reasons if r["rule_id"] == rule_id)


def test_marathoner_with_knee_pain_is_a1(leads: LeadRules) -> None:
    p = score_lead(leads, MARATHONER)
    assert (p.fit, p.urgency, p.engagement, p.intent) == (100, 90, 20, 90)
    assert p.tier == "A1" and p.status == "normal"
    assert p.sla_working_minutes == 120
    assert p.action.startswith("Personal outreach from the coach")
    assert by_axis(p, "fit") == [
        "fit.service_offered",
        "fit.one_to_one",
        "fit.in_person_ok",
        "fit.runner",
        "fit.distance_or_trail",
        "fit.mobility_problem",
    ]
    assert by_axis(p, "urgency") == ["urg.race_8_16w", "urg.pain_not_red", "urg.start_asap"]
    assert by_axis(p, "engagement") == ["eng.assessment_completed"]
    assert by_axis(p, "override") == []
    assert reason(p, "urg.race_8_16w")["reason"].startswith("Race in 12 weeks: the best window")
    assert reason(p, "urg.pain_not_red") == {
        "axis": "urgency",
        "rule_id": "urg.pain_not_red",
        "points": 30,
        "reason": "Running with pain right now (4/10), not a red flag.",
    }
    assert reason(p, "fit.service_offered")["reason"] == "Interested in mobility coaching."
    assert reason(p, "fit.distance_or_trail")["reason"].startswith("Goal event: marathon")


def test_fit_is_clamped_at_100(leads: LeadRules) -> None:
    p = score_lead(leads, lead(MARATHONER, desk_hours=">10"))
    assert sum(r["points"] for r in p.reasons if r["axis"] == "fit") == 110
    assert p.fit == 100


def test_curious_desk_worker_is_low_priority(leads: LeadRules) -> None:
    p = score_lead(leads, CURIOUS_DESK_WORKER)
    assert p.tier[0] in "BC" and p.tier == "C3"
    assert (p.fit, p.urgency, p.engagement) == (20, 0, 0)
    assert by_axis(p, "fit") == ["fit.online_ok", "fit.desk_bound", "fit.not_sure_only"]
    assert reason(p, "fit.not_sure_only")["points"] == -15
    assert reason(p, "urg.exploring")["points"] == -15
    assert reason(p, "fit.desk_bound")["reason"].startswith("Sits 8–10 hours on a workday")
    assert p.action.startswith("No call needed") and p.sla_working_minutes == 2 * 8 * 60


def test_in_person_only_outside_austin_loses_fit(leads: LeadRules) -> None:
    p = score_lead(leads, lead(MARATHONER, in_area=False))
    assert reason(p, "fit.out_of_area_in_person")["points"] == -40
    assert "fit.in_person_ok" not in by_axis(p, "fit")
    assert p.fit == 25 + 10 + 20 + 10 + 10 - 40
    assert p.tier == "B1"  # down from A1: still worth an email (online may suit them)


@pytest.mark.parametrize(
    ("delivery", "in_area", "expected"),
    [
        ("either", True, ["fit.in_person_ok"]),
        ("either", False, ["fit.online_ok"]),
        ("online", True, ["fit.online_ok"]),
        ("in_person", None, []),
    ],
)
def test_how_the_lead_can_be_served(leads: LeadRules, delivery: str, in_area: bool | None, expected: list) -> None:
    p = score_lead(leads, lead(MARATHONER, delivery=delivery, in_area=in_area))
    served = [r for r in by_axis(p, "fit") if r in ("fit.in_person_ok", "fit.online_ok", "fit.out_of_area_in_person")]
    assert served == expected


@pytest.mark.parametrize(
    ("weeks", "rule_id"),
    [(-1, None), (0, "urg.race_under_8w"), (7.9, "urg.race_under_8w"), (8, "urg.race_8_16w"),
     (16.9, "urg.race_8_16w"), (17, "urg.race_17_26w"), (26.9, "urg.race_17_26w"), (27, None)],
)
def test_race_windows(leads: LeadRules, weeks: float, rule_id: str | None) -> None:
    p = score_lead(leads, lead(MARATHONER, weeks_to_race=weeks))
    assert [r for r in by_axis(p, "urgency") if r.startswith("urg.race")] == ([rule_id] if rule_id else [])


def test_recent_injury_and_load_spike_add_urgency(leads: LeadRules) -> None:
    base = lead(MARATHONER, weeks_to_race=None, current_pain=0, start_timing="within_3_months")
    assert score_lead(leads, base).urgency == 0
    p = score_lead(leads, lead(base, flags=["PREVIOUS_INJURY_12M", "SINGLE_RUN_SPIKE"]))
    assert by_axis(p, "urgency") == ["urg.recent_injury", "urg.load_spike"]
    assert p.urgency == 25
    assert score_lead(leads, lead(base, recent_injury=True)).urgency == 15


def test_red_flag_is_clinician_first_regardless_of_scores(leads: LeadRules) -> None:
    for facts in (MARATHONER, CURIOUS_DESK_WORKER, lead(MARATHONER, stage="client")):
        p = score_lead(leads, lead(facts, safety_level="red"))
        assert p.status == "clinician_first"
        assert p.action.startswith("Clinician-first conversation") and "No sales push" in p.action
        assert p.sla_working_minutes == 2 * 60  # a human today
        assert p.tier.endswith("1")  # never X3: intent floor 1 (needs a human now)
        assert p.reasons[0]["axis"] == "override" and p.reasons[0]["rule_id"] == "override.safety_red"
    p = score_lead(leads, lead(MARATHONER, safety_level="red"))
    assert "urg.pain_not_red" not in by_axis(p, "urgency")  # pain behind a red flag is not urgency
    assert p.tier == "A1"  # still scored for the coach


def test_amber_flag_keeps_the_tier_but_leads_with_clearance(leads: LeadRules) -> None:
    p = score_lead(leads, lead(MARATHONER, safety_level="amber"))
    assert p.status == "clearance_recommended" and p.tier == "A1"
    assert p.action.startswith("Clearance recommended:")
    assert p.action.endswith(leads.tiers["A1"].action)
    assert p.sla_working_minutes == 120
    assert by_axis(p, "override") == ["override.safety_amber"]


@pytest.mark.parametrize("stage", ["client", "lost"])
def test_clients_and_lost_leads_are_closed_without_sla(leads: LeadRules, stage: str) -> None:
    p = score_lead(leads, lead(MARATHONER, stage=stage))
    assert p.status == "closed" and p.sla_working_minutes is None
    assert reason(p, f"override.{stage}")["reason"] == f"Stage is {stage}."
    assert p.tier == "A1"


def test_unsubscribed_counts_against_engagement(leads: LeadRules) -> None:
    engaged = lead(CURIOUS_DESK_WORKER, assessment_completed=True, session_booked=True, replied=True)
    before = score_lead(leads, engaged)
    after = score_lead(leads, lead(engaged, unsubscribed=True))
    assert before.engagement == 75
    assert reason(after, "eng.unsubscribed")["points"] == -100
    assert after.engagement == 0 < before.engagement


def test_engagement_signals(leads: LeadRules) -> None:
    p = score_lead(leads, {"self_tests_done": 4, "strategy_requested": True, "replied": True})
    assert by_axis(p, "engagement") == ["eng.self_tests_3plus", "eng.strategy_requested", "eng.replied"]
    assert p.engagement == 75 and p.intent == 75  # intent = max(urgency, engagement)
    assert reason(p, "eng.self_tests_3plus")["reason"].startswith("Did 4 of the optional self-tests")
    assert by_axis(score_lead(leads, {"self_tests_done": 2}), "engagement") == ["eng.self_tests_some"]


def test_every_tier_has_an_action_and_sla(leads: LeadRules) -> None:
    assert set(leads.tiers) == set(TIERS) and len(TIERS) == 9
    minutes = {t: leads.tiers[t].sla_minutes for t in TIERS}
    assert minutes == {
        "A1": 120, "A2": 480, "B1": 480,
        "A3": 960, "B2": 960, "B3": 960, "C1": 960, "C2": 960, "C3": 960,
    }
    assert all(leads.tiers[t].action for t in TIERS)


def test_empty_facts_and_none_values(leads: LeadRules) -> None:
    p = score_lead(leads, {})
    assert (p.fit, p.urgency, p.engagement, p.tier, p.status) == (0, 0, 0, "C3", "normal")
    assert p.reasons == ()
    assert score_lead(leads, {k: None for k in MARATHONER}) == p


def test_facts_are_checked(leads: LeadRules) -> None:
    with pytest.raises(ValueError, match="unknown fact 'in_austin'"):
        score_lead(leads, {"in_austin": True})
    with pytest.raises(ValueError, match="fact 'current_pain' must be number"):
        score_lead(leads, {"current_pain": "4"})
    with pytest.raises(ValueError, match="fact 'service_interest' must be choices"):
        score_lead(leads, {"service_interest": "kinstretch"})
    assert clean_facts({"flags": {"B", "A"}, "goal_event": None}) == {"flags": ("A", "B")}


def test_scoring_is_deterministic_and_serialisable(leads: LeadRules) -> None:
    p = score_lead(leads, lead(MARATHONER, safety_level="amber"))
    assert score_lead(leads, lead(MARATHONER, safety_level="amber")) == p
    data = json.loads(json.dumps(p.to_dict()))
    assert set(data) == {
        "fit", "urgency", "engagement", "intent", "tier", "status", "action", "sla_working_minutes", "reasons",
    }
    assert set(data["reasons"][0]) == {"axis", "rule_id", "points", "reason"}
    assert LeadPriority.from_dict(data) == p
    assert data["tier"] == "A1" and data["reasons"][0]["axis"] == "override"


# --- band edges, on a copy of the rules whose points are set by the test --------------------

EDGES = (29, 30, 59, 60)


@pytest.fixture(scope="module")
def edge_rules(tmp_path_factory: pytest.TempPathFactory) -> LeadRules:
    """Fit points = 29/30/59/60 by current_pain 1–4; urgency likewise by self_tests_done."""
    root = tmp_path_factory.mktemp("edges") / "rules"
    shutil.copytree(RULES_DIR, root)
    path = root / "leads" / "priority.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def edge_rules_for(axis: str, ref: str) -> list[dict[str, Any]]:
        return [
            {"id": f"{axis}.edge_{n}", "when": {"ref": ref, "eq": i}, "points": n, "reason": f"{n} points."}
            for i, n in enumerate(EDGES, start=1)
        ]

    data["scores"] = {
        "fit": edge_rules_for("fit", "current_pain"),
        "urgency": edge_rules_for("urgency", "self_tests_done"),
        "engagement": [],
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_rules(root).leads


@pytest.mark.parametrize(("pain", "letter"), [(1, "C"), (2, "B"), (3, "B"), (4, "A")])
@pytest.mark.parametrize(("tests", "digit"), [(1, "3"), (2, "2"), (3, "2"), (4, "1")])
def test_band_edges(edge_rules: LeadRules, pain: int, letter: str, tests: int, digit: str) -> None:
    p = score_lead(edge_rules, {"current_pain": pain, "self_tests_done": tests})
    assert p.fit == EDGES[pain - 1] and p.intent == EDGES[tests - 1]
    assert p.tier == letter + digit
    assert p.sla_working_minutes == edge_rules.tiers[p.tier].sla_minutes
