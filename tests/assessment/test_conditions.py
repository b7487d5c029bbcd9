"""The condition DSL: operators, combinators, missing values and load-time checks."""

from __future__ import annotations

from typing import Any

import pytest

from coachapp.assessment._schema import Issues
from coachapp.assessment.conditions import Condition, RefType, compile_condition

REFS = {
    "km": RefType("number"),
    "pain": RefType("bool"),
    "goal": RefType("choice", frozenset({"none", "half", "marathon"})),
    "terrain": RefType("choices", frozenset({"road", "trail", "track"})),
    "hm": RefType("choices", frozenset({"a", "b"})),
    "hm.a": RefType("bool"),
    "flags": RefType("flags", frozenset({"X", "Y"})),
}


def compile_ok(data: Any) -> Condition:
    errors: list[str] = []
    cond = compile_condition(data, REFS, Issues(errors, "test.yaml"), "rule 'r'")
    assert not errors and cond is not None
    return cond


def compile_errors(data: Any) -> list[str]:
    errors: list[str] = []
    assert compile_condition(data, REFS, Issues(errors, "test.yaml"), "rule 'r'") is None
    return errors


@pytest.mark.parametrize(
    ("leaf", "facts", "expected"),
    [
        ({"ref": "km", "eq": 10}, {"km": 10}, True),
        ({"ref": "km", "ne": 10}, {"km": 11}, True),
        ({"ref": "km", "gt": 10}, {"km": 10}, False),
        ({"ref": "km", "gte": 10}, {"km": 10}, True),
        ({"ref": "km", "lt": 10}, {"km": 9.99}, True),
        ({"ref": "km", "lte": 10}, {"km": 10.01}, False),
        ({"ref": "km", "between": [10, 20]}, {"km": 10}, True),
        ({"ref": "km", "between": [10, 20]}, {"km": 20}, False),
        ({"ref": "goal", "in": ["half", "marathon"]}, {"goal": "half"}, True),
        ({"ref": "goal", "not_in": ["half", "marathon"]}, {"goal": "none"}, True),
        ({"ref": "pain", "eq": False}, {"pain": False}, True),
        ({"ref": "terrain", "contains": "trail"}, {"terrain": ["road", "trail"]}, True),
        ({"ref": "terrain", "contains_any": ["trail", "track"]}, {"terrain": ["road"]}, False),
        ({"ref": "hm.a", "eq": True}, {"hm": ["a"]}, True),
        ({"ref": "hm.a", "eq": False}, {"hm": ["b"]}, True),
        ({"ref": "flags", "contains": "X"}, {"flags": frozenset({"X"})}, True),
        ({"ref": "km", "exists": True}, {"km": 0}, True),
        ({"ref": "km", "exists": False}, {}, True),
    ],
)
def test_leaf_operators(leaf: dict[str, Any], facts: dict[str, Any], expected: bool) -> None:
    assert compile_ok(leaf)(facts) is expected


@pytest.mark.parametrize(
    "leaf",
    [
        {"ref": "km", "eq": 1},
        {"ref": "km", "ne": 1},
        {"ref": "km", "lt": 1},
        {"ref": "goal", "not_in": ["half"]},
        {"ref": "terrain", "contains": "road"},
        {"ref": "hm.a", "eq": False},
    ],
)
def test_missing_answers_make_comparisons_false(leaf: dict[str, Any]) -> None:
    cond = compile_ok(leaf)
    assert cond({}) is False
    assert compile_ok({"not": leaf})({}) is True


def test_combinators_and_refs() -> None:
    cond = compile_ok(
        {
            "all": [
                {"ref": "km", "gte": 5},
                {"any": [{"ref": "goal", "eq": "half"}, {"not": {"ref": "pain", "eq": True}}]},
            ]
        }
    )
    assert cond.refs == ("km", "goal", "pain")
    assert cond({"km": 5, "goal": "half", "pain": True})
    assert cond({"km": 5, "goal": "none", "pain": False})
    assert not cond({"km": 5, "goal": "none", "pain": True})
    assert not cond({"km": 4, "goal": "half"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ref": "nope", "eq": 1}, "unknown ref 'nope'"),
        ({"ref": "km", "equals": 1}, "unknown operator 'equals'"),
        ({"ref": "km", "gt": 1, "lt": 5}, "exactly one operator"),
        ({"ref": "goal", "eq": "full"}, "'full' is not an option of 'goal'"),
        ({"ref": "goal", "gt": 1}, "'gt' needs a numeric ref"),
        ({"ref": "km", "eq": "10"}, "compare with numbers"),
        ({"ref": "pain", "eq": "yes"}, "compare with true or false"),
        ({"ref": "terrain", "eq": "road"}, "use contains"),
        ({"ref": "km", "contains": 1}, "needs a multi-select"),
        ({"ref": "km", "between": [5, 1]}, "lo < hi"),
        ({"ref": "km", "exists": "yes"}, "true or false"),
        ({"every": []}, "unknown combinator"),
        ({"all": []}, "non-empty list"),
        ("km > 3", "expected a mapping"),
    ],
)
def test_compile_errors(data: Any, message: str) -> None:
    errors = compile_errors(data)
    assert any(message in e and e.startswith("test.yaml: rule 'r': condition:") for e in errors), (
        errors
    )
