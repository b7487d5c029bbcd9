"""A retake compared with the previous assessment (pure: assessment/progress.py), the
measurement-error rules it reads (self_tests.yaml), and the plan stepping a resolved priority
down to maintenance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coachapp.assessment import evaluate
from coachapp.assessment.progress import Attempt, compare, judge
from tests.rules_copy import broken_rules

from .helpers import TODAY, answers, plan_ids

OK = {"safety": {"level": "ok"}, "priorities": [], "flags": [], "regions": []}


def _result(priorities=(), flags=(), regions=(), level="ok") -> dict[str, Any]:
    return {"safety": {"level": level},
            "priorities": [{"region": r, "label": r.replace("_", " ").capitalize()} for r in priorities],
            "flags": [{"id": f, "label": f.lower()} for f in flags],
            "regions": [{"id": r, "label": r.capitalize(), "finding": finding} for r, finding in regions]}


def _compare(rules, before: dict, now: dict, results=(OK, OK)) -> dict[str, Any]:
    progress = compare(rules.assessment, [Attempt("2026-10-10", before, results[0]),
                                          Attempt("2026-11-21", now, results[1])])
    assert progress is not None
    return progress


def _test(progress: dict, test_id: str) -> dict[str, Any]:
    return next(t for t in progress["tests"] if t["id"] == test_id)


def _verdicts(entry: dict) -> dict[str, str]:
    return {s["side"]: s["verdict"] for s in entry["sides"]}


# --- the measurement-error judgement, per test -------------------------------------------

@pytest.mark.parametrize(("before", "now", "verdict"), [
    (8.0, 9.9, "improved"),       # exactly at the 1.9 cm MDC [S3]: counts
    (8.0, 9.8, "within_error"),   # just below it
    (8.0, 9.5, "within_error"),
    (8.0, 10.5, "improved"),      # above it
    (10.0, 8.2, "within_error"),
    (10.0, 8.1, "decreased"),     # exactly at the MDC the other way
    (10.0, 8.0, "decreased"),
    (9.0, 9.0, "within_error"),
])
def test_knee_to_wall_is_judged_against_its_mdc(rules, before, now, verdict):
    progress = _compare(rules, {"ktw_left_cm": before, "ktw_right_cm": 10},
                        {"ktw_left_cm": now, "ktw_right_cm": 10})
    ktw = _test(progress, "knee_to_wall")
    assert _verdicts(ktw) == {"left": verdict, "right": "within_error"}
    assert ktw["error"] == 1.9 and ktw["basis"] == ["S3", "S6"]
    left = ktw["sides"][0]
    if verdict == "within_error" and before != now:
        assert "within measurement error" in left["text"] and "not counted as progress" in left["text"]
    if verdict in ("improved", "decreased"):
        assert f"{verdict} by" in left["text"] and "cm" in left["text"]
        assert f"{before:g} cm → {now:g} cm" in left["text"]


def test_left_and_right_are_judged_separately(rules):
    progress = _compare(rules, {"ktw_left_cm": 6, "ktw_right_cm": 12}, {"ktw_left_cm": 9, "ktw_right_cm": 10})
    ktw = _test(progress, "knee_to_wall")
    assert _verdicts(ktw) == {"left": "improved", "right": "decreased"}
    assert [s["change"] for s in ktw["sides"]] == [3, -2]
    # the side gap went 6 → 1 cm: beyond the 1.5 cm side-difference MDC [S6]
    assert ktw["gap"]["verdict"] == "improved" and "narrowed from 6 cm to 1 cm" in ktw["gap"]["text"]
    assert progress["improved_tests"] == 1 and progress["decreased_tests"] == 1


def test_side_gap_within_its_error(rules):
    progress = _compare(rules, {"ktw_left_cm": 8, "ktw_right_cm": 10}, {"ktw_left_cm": 9, "ktw_right_cm": 10})
    assert _test(progress, "knee_to_wall")["gap"]["verdict"] == "within_error"


def test_a_missing_side_says_so(rules):
    progress = _compare(rules, {"ktw_left_cm": 8}, {"ktw_right_cm": 10, "ktw_left_cm": 12})
    ktw = _test(progress, "knee_to_wall")
    assert _verdicts(ktw) == {"left": "improved", "right": "not_measured_before"}
    assert ktw["gap"] is None  # not both sides both times
    progress = _compare(rules, {"ktw_left_cm": 8, "ktw_right_cm": 9}, {"ktw_left_cm": 8.5})
    assert _verdicts(_test(progress, "knee_to_wall")) == {"left": "within_error", "right": "not_measured_now"}
    assert "not measured this time" in _test(progress, "knee_to_wall")["sides"][1]["text"]


def test_a_test_done_neither_time_is_left_out(rules):
    progress = _compare(rules, {"ktw_left_cm": 8, "ktw_right_cm": 9}, {"ktw_left_cm": 8, "ktw_right_cm": 9})
    assert [t["id"] for t in progress["tests"]] == ["knee_to_wall"]


def test_hip_rotation_uses_the_coach_judgement_floor(rules):
    progress = _compare(rules, {"hip_ir_left_deg": 28, "hip_ir_right_deg": 30},
                        {"hip_ir_left_deg": 33, "hip_ir_right_deg": 34})
    hip = _test(progress, "seated_hip_ir_phone")
    assert hip["basis"] == "coach_judgement" and hip["error"] == 5
    assert _verdicts(hip) == {"left": "improved", "right": "within_error"}  # 5° at, 4° below


def test_ordinal_thoracic_rotation_counts_option_steps(rules):
    # one choice (about 10°) is more than the 2.1–6.3° MDC [S21]: a one-step change counts
    progress = _compare(rules, {"trot_left": "well_short", "trot_right": "on_line"},
                        {"trot_left": "short_hand_width", "trot_right": "short_hand_width"})
    trot = _test(progress, "seated_thoracic_rotation")
    assert trot["kind"] == "ordinal" and trot["basis"] == ["S21", "S24"]
    assert _verdicts(trot) == {"left": "improved", "right": "decreased"}
    same = _compare(rules, {"trot_left": "on_line"}, {"trot_left": "on_line"})
    assert _verdicts(_test(same, "seated_thoracic_rotation"))["left"] == "within_error"
    assert trot["scale"]["labels"][0] == "Past the 45° tape line"  # best first: the top of the chart


@pytest.mark.parametrize(("test_id", "before", "now", "verdict"), [
    ("single_leg_balance", {"balance_left_s": 20}, {"balance_left_s": 25}, "improved"),
    ("single_leg_balance", {"balance_left_s": 20}, {"balance_left_s": 24}, "within_error"),
    ("heel_raise", {"heel_raise_left_reps": 20}, {"heel_raise_left_reps": 16}, "decreased"),
    ("heel_raise", {"heel_raise_left_reps": 20}, {"heel_raise_left_reps": 23}, "within_error"),
    ("modified_thomas", {"thomas_left": "above_horizontal"}, {"thomas_left": "level_horizontal"}, "improved"),
    ("single_leg_squat", {"sls_left": "3_clean"}, {"sls_left": "2_compensates"}, "decreased"),
    ("seated_hip_ir_picture", {"hip_ir_picture_left": "about_30"}, {"hip_ir_picture_left": "about_45_or_more"},
     "improved"),
])
def test_every_compared_test(rules, test_id, before, now, verdict):
    entry = _test(_compare(rules, before, now), test_id)
    assert _verdicts(entry)["left"] == verdict
    assert entry["normal"]["low"] is not None or entry["normal"]["high"] is not None


def test_judge_at_below_above_the_error(rules):
    m = rules.assessment.question("ktw_left_cm").test.measurement
    assert judge(m, 8, 8 + 1.9) == ("improved", 1.9)
    assert judge(m, 8, 8 + 1.89)[0] == "within_error"
    assert judge(m, 8, 10)[0] == "improved"
    assert judge(m, 10, 8.1)[0] == "decreased"  # exactly at, downwards
    assert judge(m, 10, 8.11)[0] == "within_error"  # 1.89 cm: below
    assert judge(m, 10, 8.2)[0] == "within_error"
    assert judge(m, None, 8) == ("not_measured_before", None)
    assert judge(m, 8, None) == ("not_measured_now", None)


def test_history_spans_every_attempt(rules):
    attempts = [Attempt(f"2026-0{i}-01", {"ktw_left_cm": 6 + i, "ktw_right_cm": 9}, OK) for i in range(1, 6)]
    progress = compare(rules.assessment, attempts)
    ktw = _test(progress, "knee_to_wall")
    assert [p["left"] for p in ktw["history"]] == [7, 8, 9, 10, 11]
    assert progress["previous_date"] == "2026-04-01" and progress["attempts"] == 5


# --- priorities and flags -----------------------------------------------------------------

def test_priorities_moved_new_resolved_and_dropped(rules):
    before = _result(priorities=["ankle_dorsiflexion", "thoracic_rotation", "hip_extension"])
    now = _result(priorities=["thoracic_rotation", "hip_internal_rotation"],
                  regions=[("ankle_dorsiflexion", "normal"), ("hip_extension", None),
                           ("thoracic_rotation", "marked"), ("hip_internal_rotation", "restricted")])
    pr = _compare(rules, {}, {}, (before, now))["priorities"]
    assert [(p["region"], p["was"], p["now"]) for p in pr["moved"]] == [("thoracic_rotation", 2, 1)]
    assert [(p["region"], p["now"]) for p in pr["new"]] == [("hip_internal_rotation", 2)]
    assert [p["region"] for p in pr["resolved"]] == ["ankle_dorsiflexion"]  # measured normal now
    assert [p["region"] for p in pr["dropped"]] == ["hip_extension"]  # untested: not "resolved"


def test_flags_appeared_and_cleared(rules):
    before = _result(flags=["LOW_CALF_CAPACITY", "SINGLE_RUN_SPIKE"])
    now = _result(flags=["SINGLE_RUN_SPIKE", "WEEKLY_JUMP_OVER_30"])
    flags = _compare(rules, {}, {}, (before, now))["flags"]
    assert [f["id"] for f in flags["appeared"]] == ["WEEKLY_JUMP_OVER_30"]
    assert [f["id"] for f in flags["cleared"]] == ["LOW_CALF_CAPACITY"]


def test_a_red_flag_retake_is_never_compared(rules):
    assert compare(rules.assessment, [Attempt("2026-10-10", {"ktw_left_cm": 5}, OK),
                                      Attempt("2026-11-21", {"ktw_left_cm": 12}, _result(level="red"))]) is None
    assert compare(rules.assessment, [Attempt("2026-11-21", {}, OK)]) is None  # nothing before
    # the other way round: measurements compare, priorities of a red result do not
    progress = _compare(rules, {"ktw_left_cm": 5}, {"ktw_left_cm": 12},
                        (_result(level="red"), _result(["hip_extension"])))
    assert progress["previous_red"] is True and progress["priorities"]["new"] == []


def test_real_results_compare_end_to_end(rules):
    first = evaluate(rules, answers(ktw_left_cm=7, ktw_right_cm=7.5), TODAY).to_dict()
    second = evaluate(rules, answers(ktw_left_cm=12, ktw_right_cm=12), TODAY, previous=first).to_dict()
    progress = _compare(rules, answers(ktw_left_cm=7, ktw_right_cm=7.5), answers(ktw_left_cm=12, ktw_right_cm=12),
                        (first, second))
    assert "ankle_dorsiflexion" in [p["region"] for p in progress["priorities"]["resolved"]]
    assert progress["improved_tests"] == 1


# --- the plan adapts ------------------------------------------------------------------------

def test_a_resolved_priority_steps_down_to_maintenance(rules):
    before = evaluate(rules, answers(ktw_left_cm=7, ktw_right_cm=7), TODAY).to_dict()
    assert before["priorities"][0]["region"] == "ankle_dorsiflexion"
    assert "ankle_df_pails_rails" in plan_ids(evaluate(rules, answers(ktw_left_cm=7, ktw_right_cm=7), TODAY))
    after = evaluate(rules, answers(ktw_left_cm=12, ktw_right_cm=12), TODAY, previous=before)
    plan = after.plan
    assert plan["maintenance"] == ["ankle_dorsiflexion"]
    ids = plan_ids(after)
    assert "ankle_cars" in ids  # the short maintenance block: its daily exercise only
    assert "ankle_df_pails_rails" not in ids and "sl_calf_raise_bent" not in ids  # not the full block
    item = next(i for i in plan["items"] if i["exercise_id"] == "ankle_cars")
    assert "steps down to maintenance" in item["why"] and item["for"] == "ankle_dorsiflexion"
    assert any("Stepped down to maintenance: ankle dorsiflexion" in n for n in plan["notes"])
    # without the previous result the same answers give no maintenance block
    assert evaluate(rules, answers(ktw_left_cm=12, ktw_right_cm=12), TODAY).plan["maintenance"] == []


def test_a_new_priority_enters_the_plan(rules):
    before = evaluate(rules, answers(ktw_left_cm=7, ktw_right_cm=7), TODAY).to_dict()
    after = evaluate(rules, answers(ktw_left_cm=7, ktw_right_cm=7, trot_left="well_short", trot_right="well_short"),
                     TODAY, previous=before)
    assert "thoracic_rotation" in after.plan["regions"]
    assert any(n.startswith("New in your plan this time: thoracic rotation") for n in after.plan["notes"])


def test_red_previous_or_current_changes_nothing_in_the_plan(rules):
    red = evaluate(rules, answers(sf_screen=["exertion_chest"]), TODAY).to_dict()
    assert red["plan"] is None
    after = evaluate(rules, answers(ktw_left_cm=12, ktw_right_cm=12), TODAY, previous=red)
    assert after.plan["maintenance"] == []


# --- the rules: validated on load ------------------------------------------------------------

@pytest.fixture
def broken(tmp_path: Path) -> Callable[..., list[str]]:
    base = broken_rules(tmp_path)
    return lambda edit: base({"assessment/self_tests.yaml": edit})


def _tweak(test_id: str, fn: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda data: fn(next(t for t in data["tests"] if t["id"] == test_id))


def test_a_measurement_error_needs_a_source_or_coach_judgement(broken):
    errors = broken(_tweak("knee_to_wall", lambda t: t["measurement_error"].pop("sources")))
    assert any("test 'knee_to_wall' measurement_error" in e and "coach_judgement" in e for e in errors), errors


def test_an_unknown_source_is_refused(broken):
    errors = broken(_tweak("knee_to_wall", lambda t: t["measurement_error"].update(sources=["S999"])))
    assert any("unknown source id 'S999'" in e for e in errors), errors


def test_sides_must_be_the_tests_questions(broken):
    errors = broken(_tweak("knee_to_wall", lambda t: t["measurement_error"].update(left="hip_ir_left_deg")))
    assert any("'left': 'hip_ir_left_deg' is not a question of this test" in e for e in errors), errors


def test_every_test_says_how_it_compares(broken):
    errors = broken(_tweak("heel_raise", lambda t: (t.pop("measurement_error"), t.pop("normal_band"))))
    assert any("test 'heel_raise'" in e and "not_compared" in e for e in errors), errors


def test_a_change_must_be_positive(broken):
    errors = broken(_tweak("heel_raise", lambda t: t["measurement_error"].update(change=0)))
    assert any("'change' must be a number > 0" in e for e in errors), errors


def test_a_band_names_real_options(broken):
    errors = broken(_tweak("seated_thoracic_rotation", lambda t: t["normal_band"].update(values=["nowhere"])))
    assert any("unknown option(s) nowhere" in e for e in errors), errors
