"""Every persona's outcome, through the pure engine (issue 8: the persona test set)."""

from __future__ import annotations

from datetime import date

import pytest

from coachapp.assessment import Rules, evaluate

from .personas import PERSONAS, Persona


def _items(result) -> dict[str, dict]:
    return {item["exercise_id"]: item for item in (result.plan or {}).get("items", [])}


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.id for p in PERSONAS])
def test_persona_outcome(rules: Rules, persona: Persona) -> None:
    result = evaluate(rules, persona.answers, today=date.today())
    top = result.priorities[0]["region"] if result.priorities else None
    assert top == persona.top, [(r["id"], r["score"], r["finding"]) for r in result.regions]
    assert result.safety["level"] == persona.safety
    fired = {f["id"] for f in result.flags}
    assert persona.flags <= fired and not (persona.no_flags & fired), fired
    if persona.safety == "red":
        assert result.plan is None and result.priorities == []
        return
    items = _items(result)
    assert persona.plan_has <= set(items), sorted(items)
    assert not (persona.plan_lacks & set(items)), sorted(persona.plan_lacks & set(items))
    assert result.plan["mode"] == persona.mode == result.stability["mode"]
    if persona.mode == "stability_first":
        # No sustained passive end-range hold of any kind, for any region (issue 8, point 1).
        passive = {e.id for e in rules.exercises.values() if e.passive_end_range}
        assert not passive & set(items)
    _check_extra(rules, persona, result, items)


def _check_extra(rules: Rules, persona: Persona, result, items: dict[str, dict]) -> None:
    extra, plan = persona.extra, result.plan
    if "summary_starts" in extra:
        assert plan["summary"].startswith(extra["summary_starts"])
    if "side" in extra:
        exercise, side = extra["side"]
        assert items[exercise]["side"] == side and f"your {side} side" in items[exercise]["side_note"]
    if "gates" in extra:
        assert set(result.safety["gates"]) == extra["gates"]
        assert plan["limited"]["changes"] and plan["summary"].startswith("Get checked first.")
    if extra.get("no_quality_runs"):
        assert not [d for d in plan["week"] if d["run"] == "quality"]
    if "no_load_progression" in extra.get("gates", ()):
        assert all(i["progression"] == "hold" for i in items.values() if i["kind"] == "strength")
    if "no_item_loads" in extra:
        area = extra["no_item_loads"]
        assert not [i for i in items if area in rules.exercises[i].loads_areas]
    if "note_contains" in extra:
        assert any(extra["note_contains"] in n for n in plan["notes"])
    if "starter" in extra:
        assert items[extra["starter"]]["dosage"] == rules.exercises[extra["starter"]].starter_dosage
    if "phase_note_lacks" in extra:
        assert not any(extra["phase_note_lacks"] in n for n in plan["notes"])
    if "run_days" in extra:
        assert len([d for d in plan["week"] if d["run"]]) == extra["run_days"]
    if "skipped_safety" in extra:
        assert {s["id"] for s in result.skipped_safety} == extra["skipped_safety"]
    else:
        assert result.skipped_safety == []


def test_there_are_at_least_twelve_personas_covering_every_outcome() -> None:
    assert len(PERSONAS) >= 12
    assert {p.safety for p in PERSONAS} == {"ok", "amber", "red"}
    assert any(p.mode == "stability_first" for p in PERSONAS) and any(p.top is None for p in PERSONAS)
    assert len({p.changes.get("age_band", "30-39") for p in PERSONAS}) >= 5
