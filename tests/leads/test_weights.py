"""The priority-weights fit, pure parts: AUC on known values, the split, the tier a set of points
gives (the same as ``score_lead``), suggested points, the too-few rule, a fit on synthetic leads,
and the proposed diff (only ``points:`` lines; it applies with ``git apply`` and loads)."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from coachapp.assessment import Rules, load_rules
from coachapp.leads.priority import TIERS, score_lead
from coachapp.leads.weights import (
    MIN_LEADS,
    Column,
    Sample,
    auc,
    bootstrap,
    columns,
    feature_row,
    fit_weights,
    in_training,
    round_points,
    suggest_points,
    tier_scores,
)
from coachapp.leads.weights_diff import DiffError, proposed_diff, with_points
from tests.rules_copy import RULES_DIR

PRIORITY = RULES_DIR / "leads" / "priority.yaml"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES_DIR)


# -- AUC --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("scores", "labels", "expected"), [
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),  # scikit-learn's documented example
    ([1, 2, 3, 4], [0, 0, 1, 1], 1.0),
    ([4, 3, 2, 1], [0, 0, 1, 1], 0.0),
    ([1, 2, 2, 3], [0, 0, 1, 1], 0.875),  # one tied pair counts half: (1 + .5 + 1 + 1) / 4
    ([5, 5, 5, 5], [0, 1, 0, 1], 0.5),  # everything tied: a coin toss
    ([3, 1, 2, 3, 1], [1, 0, 1, 0, 0], (2.5 + 2) / 6),  # 3 beats 1, 1 and ties 3; 2 beats 1, 1
])
def test_auc_known_values(scores, labels, expected):
    assert auc(scores, labels) == pytest.approx(expected)


def test_auc_one_class_is_none():
    assert auc([1, 2, 3], [1, 1, 1]) is None
    assert auc([1, 2, 3], [0, 0, 0]) is None


def test_auc_matches_the_pairwise_definition_on_random_ties():
    rng = random.Random(3)
    scores = [rng.randint(1, 9) for _ in range(300)]
    labels = [rng.random() < 0.3 for _ in range(300)]
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    pairs = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert auc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))


def test_bootstrap_interval_holds_the_point_and_is_repeatable():
    rng = np.random.default_rng(1)
    labels = rng.random(2000) < 0.3
    current = np.where(labels, rng.integers(3, 10, 2000), rng.integers(1, 8, 2000))
    suggested = np.where(labels, rng.integers(5, 10, 2000), rng.integers(1, 6, 2000))
    cur, sug, change = bootstrap(current, suggested, labels)
    assert cur.lo < auc(current, labels) < cur.hi
    assert sug.lo < auc(suggested, labels) < sug.hi
    assert change.lo < auc(suggested, labels) - auc(current, labels) < change.hi
    assert change.lo > 0  # clearly better here
    assert (cur, sug, change) == bootstrap(current, suggested, labels)


# -- split, tiers, points ------------------------------------------------------------------------

def test_split_is_deterministic_and_about_70_30():
    share = sum(in_training(i) for i in range(1, 20_001)) / 20_000
    assert 0.68 < share < 0.72
    assert [in_training(i) for i in range(1, 50)] == [in_training(i) for i in range(1, 50)]


def _random_facts(rng: random.Random) -> dict:
    return {
        "service_interest": rng.sample(["personal_training", "mobility_coaching", "kinstretch", "online_coaching",
                                        "not_sure"], rng.randint(0, 2)),
        "delivery": rng.choice(["in_person", "online", "either", None]),
        "in_area": rng.choice([True, False, None]),
        "is_runner": rng.choice([True, False]),
        "goal_event": rng.choice(["none", "half", "marathon", "5k_10k", None]),
        "weeks_to_race": rng.choice([None, 3.0, 10.0, 20.0, 40.0]),
        "current_pain": rng.choice([None, 0, 3, 6]),
        "recent_injury": rng.choice([True, False]),
        "dealing_with": rng.sample(["pain", "injury", "stalled", "performance"], rng.randint(0, 2)),
        "start_timing": rng.choice(["asap", "within_month", "exploring", None]),
        "desk_hours": rng.choice(["<4", "6-8", "8-10", ">10"]),
        "self_tests_done": rng.choice([0, 1, 3]),
        "assessment_completed": rng.choice([True, False]),
        "strategy_requested": rng.choice([True, False]),
        "session_booked": rng.choice([True, False]),
        "replied": rng.choice([True, False]),
        "flags": rng.sample(["SINGLE_RUN_SPIKE", "PREVIOUS_INJURY_12M", "MARATHON_BUILD"], rng.randint(0, 2)),
        "safety_level": rng.choice(["ok", "amber"]),
        "stage": "new",
    }


def test_tier_scores_rank_exactly_as_score_lead_tiers(rules):
    """The fit judges points by the tier the app would give: same clamping, intent and bands."""
    rng = random.Random(7)
    facts = [_random_facts(rng) for _ in range(400)]
    cols = columns(rules.leads)
    x = np.array([feature_row(rules.leads, f) for f in facts])
    ranks = tier_scores(rules.leads, cols, x, [c.points for c in cols])
    expected = [len(TIERS) - TIERS.index(score_lead(rules.leads, f).tier) for f in facts]
    assert ranks.tolist() == expected
    assert len(set(expected)) >= 6  # the facts reach most of the grid


def test_feature_row_is_the_rules_score_lead_fires(rules):
    rng = random.Random(8)
    cols = columns(rules.leads)
    for _ in range(50):
        facts = _random_facts(rng)
        fired = {r["rule_id"] for r in score_lead(rules.leads, facts).reasons if r["axis"] != "override"}
        row = feature_row(rules.leads, facts)
        assert {c.rule_id for c, hit in zip(cols, row, strict=True) if hit} == fired


def test_round_points():
    assert [round_points(v) for v in (0, 2.4, 2.5, 7.4, -2.5, -12.6, 41)] == [0, 0, 5, 5, -5, -15, 40]
    assert str(round_points(-1.0)) == "0.0"  # never -0


def test_suggested_points_share_one_scale_and_unfitted_rules_keep_theirs():
    cols = [Column("a", "fit", 10), Column("b", "fit", 40), Column("c", "urgency", 20), Column("d", "urgency", 15)]
    # the largest |coef| (2.0) gets the largest current points of the fitted rules (40)
    assert suggest_points(cols, [2.0, 0.05, -1.0, None]) == [40, 0, -20, 15]
    assert suggest_points(cols, [None, None, None, None]) == [10, 40, 20, 15]


# -- the fit on synthetic samples ---------------------------------------------------------------

def _samples(rules, n: int, seed: int = 5) -> list[Sample]:
    """Desk-bound (10 points now) predicts conversion; a race 8–16 weeks out (40 points) does not."""
    rng = random.Random(seed)
    out = []
    for lead_id in range(1, n + 1):
        facts = {**_random_facts(rng), "session_booked": False}
        desk = facts["desk_hours"] in ("8-10", ">10")
        out.append(Sample(lead_id, rng.random() < (0.6 if desk else 0.08), feature_row(rules.leads, facts)))
    return out


def test_fit_ranks_held_out_leads_better_and_moves_points_the_right_way(rules):
    result = fit_weights(rules.leads, _samples(rules, 3000))
    assert result.enough and result.train + result.held_out == 3000
    assert result.auc_suggested > result.auc_current + 0.05
    assert result.ci_change.lo > 0
    rows = {r.rule_id: r for r in result.rules}
    assert rows["fit.desk_bound"].suggested > rows["fit.desk_bound"].current
    assert rows["urg.race_8_16w"].suggested < rows["urg.race_8_16w"].current
    assert rows["eng.unsubscribed"].coef is None and rows["eng.unsubscribed"].suggested == -100  # never matched


def test_too_few_outcomes_is_a_message_not_a_fit(rules):
    few = fit_weights(rules.leads, _samples(rules, MIN_LEADS - 1))
    assert not few.enough and few.rules == () and few.auc_current is None
    assert "Too few outcomes to fit" in few.message and f"at least {MIN_LEADS}" in few.message
    one_sided = [Sample(s.lead_id, s.lead_id % 50 == 0, s.features) for s in _samples(rules, 500)]  # 10 converted
    assert not fit_weights(rules.leads, one_sided).enough


# -- the proposed diff ----------------------------------------------------------------------------

def test_with_points_changes_only_the_points_lines():
    text = PRIORITY.read_text(encoding="utf-8")
    new = with_points(text, {"fit.desk_bound": 35, "urg.race_8_16w": 0, "eng.replied": -5})
    old_lines, new_lines = text.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [("      points: 10", "      points: 35"), ("      points: 40", "      points: 0"),
                       ("      points: 25", "      points: -5")]
    assert new.count("#") == text.count("#")  # every comment kept


def test_with_points_refuses_an_unknown_rule():
    with pytest.raises(DiffError, match="fit.nope"):
        with_points(PRIORITY.read_text(encoding="utf-8"), {"fit.nope": 5})


def test_proposed_diff_applies_cleanly_and_loads(tmp_path: Path):
    text = PRIORITY.read_text(encoding="utf-8")
    changes = {"fit.desk_bound": 40, "urg.race_8_16w": 5, "fit.runner": 15}
    diff = proposed_diff(text, changes)
    assert diff.startswith("--- a/rules/leads/priority.yaml\n+++ b/rules/leads/priority.yaml\n")
    body = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert len(body) == 6 and all("points:" in line for line in body)
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    (tmp_path / "priority.yaml.diff").write_text(diff, encoding="utf-8")
    subprocess.run(["git", "apply", "--check", "priority.yaml.diff"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "priority.yaml.diff"], cwd=tmp_path, check=True)
    patched = load_rules(tmp_path / "rules")
    points = {c.rule_id: c.points for c in columns(patched.leads)}
    original = {c.rule_id: c.points for c in columns(load_rules(RULES_DIR).leads)}
    assert points == {**original, **changes}
    assert proposed_diff(text, {}) == "" and proposed_diff(text, {"fit.runner": 20}) == ""
