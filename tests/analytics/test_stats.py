"""The Outcomes page's statistics (pure): Wilson intervals against published values, rates under the
minimum, nested counts, the tier calibration and the CSV rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from coachapp.analytics.answers import NONE_TICKED, core_questions
from coachapp.analytics.settings import InsightRules, load_insight_rules
from coachapp.analytics.stats import (
    CSV_HEADER,
    HIGHER,
    LOWER,
    OVERLAP,
    TOO_FEW,
    Z95,
    Counts,
    calibration,
    compare,
    csv_rows,
    outcome_row,
    rate,
    wilson,
)
from coachapp.assessment import load_rules
from coachapp.assessment._schema import Issues

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Newcombe (1998), Statist. Med. 17:857-872, table I, method 3 (score interval without continuity
    # correction): 81/263, 15/148, 0/20, 1/29; and the 0/10, 5/10, 10/10 examples of Wilson's interval.
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
])
def test_the_wilson_interval_matches_published_values(k, n, low, high):
    interval = wilson(k, n)
    assert round(interval.low, 4) == low
    assert round(interval.high, 4) == high


def test_the_wilson_interval_is_exact_at_the_ends_and_symmetric():
    assert Z95 == pytest.approx(1.959964, abs=1e-6)
    assert wilson(0, 7).low == 0.0 and wilson(7, 7).high == 1.0
    a, b = wilson(3, 40), wilson(37, 40)
    assert a.low == pytest.approx(1 - b.high) and a.high == pytest.approx(1 - b.low)
    with pytest.raises(ValueError):
        wilson(0, 0)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_a_rate_under_the_minimum_has_no_interval_and_no_value():
    few = rate(5, 19, minimum=20)
    assert not few.enough and few.interval is None and few.value is None
    assert (few.successes, few.trials) == (5, 19)  # the counts are kept
    enough = rate(5, 20, minimum=20)
    assert enough.enough and enough.value == 0.25 and enough.interval == wilson(5, 20)
    assert not rate(0, 0, minimum=1).enough


def test_counts_must_be_nested():
    with pytest.raises(ValueError):
        Counts(leads=10, requested=4, booked=5)
    with pytest.raises(ValueError):
        Counts(leads=-1)
    assert Counts(10, 5, 4, 3, 2) + Counts(1, 1, 1, 1, 1) == Counts(11, 6, 5, 4, 3)


def test_an_outcome_row_rates_each_step_against_the_step_before():
    row = outcome_row("g", "Google", Counts(200, 80, 40, 30, 12), minimum=20)
    assert {s: (r.successes, r.trials) for s, r in row.steps.items()} == {
        "requested": (80, 200), "booked": (40, 80), "attended": (30, 40), "clients": (12, 30)}
    assert row.steps["clients"].interval == wilson(12, 30)
    assert (row.overall.successes, row.overall.trials) == (12, 200)
    small = outcome_row("s", "Small", Counts(60, 25, 19, 10, 5), minimum=20)
    assert small.steps["booked"].enough and not small.steps["attended"].enough
    assert not small.steps["clients"].enough and small.overall.enough


def test_compare_needs_intervals_apart():
    assert compare(rate(50, 100, 20), rate(10, 100, 20)) == HIGHER
    assert compare(rate(10, 100, 20), rate(50, 100, 20)) == LOWER
    assert compare(rate(30, 100, 20), rate(25, 100, 20)) == OVERLAP
    assert compare(rate(5, 10, 20), rate(25, 100, 20)) == TOO_FEW


def test_calibration_keeps_the_tier_order_and_compares_each_with_the_next_that_has_leads():
    counts = {"B1": Counts(100, 50, 30, 20, 10), "A1": Counts(100, 80, 60, 50, 45),
              "C3": Counts(100, 10, 5, 3, 1), "": Counts(30, 3, 3, 1, 0), "A2": Counts(5, 1, 1, 0, 0)}
    rows = calibration(counts, ("A1", "A2", "B1", "B2", "C3"), minimum=20)
    assert [r.tier for r in rows] == ["A1", "A2", "B1", "C3", ""]
    by = {r.tier: r for r in rows}
    assert (by["A1"].next_tier, by["A1"].versus_next) == ("A2", TOO_FEW)
    assert (by["A2"].next_tier, by["A2"].versus_next) == ("B1", TOO_FEW)
    assert (by["B1"].next_tier, by["B1"].versus_next) == ("C3", HIGHER)
    assert by["C3"].next_tier is None and by["C3"].versus_next is None
    assert by[""].versus_next is None  # "no tier recorded" is not in the order
    assert by["A1"].clients == rate(45, 100, 20) and by["A1"].booked == rate(60, 100, 20)
    assert calibration({}, ("A1",), 20) == []


def test_csv_rows_hold_counts_rates_and_intervals():
    row = outcome_row("g", "Google", Counts(200, 80, 40, 30, 12), minimum=20)
    cal = calibration({"A1": Counts(100, 80, 60, 50, 45), "A2": Counts(100, 50, 30, 20, 10)}, ("A1", "A2"), 20)
    out = csv_rows([("source", [("Google", "", row)])], cal)
    assert out[0] == list(CSV_HEADER) and len(set(CSV_HEADER)) == len(CSV_HEADER)
    record = dict(zip(CSV_HEADER, out[1], strict=True))
    assert record["table"] == "source" and record["leads"] == 200 and record["clients"] == 12
    assert record["requested % of leads"] == "40.0"
    assert record["client % of attended"] == "40.0"
    low, high = wilson(12, 30).low, wilson(12, 30).high
    assert record["client % of attended (95% low)"] == f"{100 * low:.1f}"
    assert record["client % of attended (95% high)"] == f"{100 * high:.1f}"
    first = dict(zip(CSV_HEADER, out[2], strict=True))
    assert first["table"] == "calibration" and first["client % of leads"] == "45.0"
    assert first["booked % of leads"] == "60.0" and first["versus the next tier"] == "higher than A2"
    few = csv_rows([("t", [("x", "", outcome_row("x", "x", Counts(5, 1, 0, 0, 0), 20))])], [])
    assert dict(zip(CSV_HEADER, few[1], strict=True))["requested % of leads"] == "too few leads to say"


def test_the_minimum_comes_from_the_rules_with_a_reason():
    assert load_rules(RULES).insights == InsightRules(minimum_leads=20, snapshot_minutes=10)
    errors: list[str] = []
    fresh = {"minutes": 10, "coach_judgement": "x"}
    load_insight_rules({"version": 1, "outcomes": {"minimum_leads": 20}, "snapshot": fresh},
                       Issues(errors, "insights.yaml"))
    assert any("coach_judgement" in e for e in errors)
    errors.clear()
    load_insight_rules({"version": 1, "outcomes": {"minimum_leads": 0, "coach_judgement": "x"},
                        "snapshot": fresh},
                       Issues(errors, "insights.yaml"))
    assert any("minimum_leads" in e for e in errors)


def test_core_questions_are_the_choice_questions_outside_the_self_tests():
    questions = {q.id: q for q in core_questions(load_rules(RULES).assessment)}
    assert "goal_event" in questions and "terrain" in questions and "hm_5pq" in questions
    assert not {"ktw_left_cm", "thomas_left", "beighton_self", "weekly_km", "race_date"} & set(questions)
    assert questions["restarting_after_break"].label("true") == "Yes"
    assert questions["hm_5pq"].label(NONE_TICKED) == "None ticked"
    assert questions["goal_event"].label("marathon") == "Marathon"
