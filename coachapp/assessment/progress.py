"""A retake compared with the runner's previous assessment. Pure: no Flask, database or clock.

``compare`` takes the earlier attempts and the new one (answers + result + date) and returns a
JSON-ready dict stored with the new result (``result["progress"]``), so the results page, the
email, the API and the coach's lead page all show the same comparison:

* each self-test done either time, left and right: before, now, the change and a verdict judged
  against the test's measurement error from ``self_tests.yaml`` — a change smaller than it is
  ``within_error``, never progress; at or beyond it ``improved`` / ``decreased``; a side measured
  only once says so; numeric tests also judge the gap between sides (``side_difference``);
* the chart's series over every attempt, and its normal band;
* priorities that moved, are new, resolved (measured normal now) or simply dropped out;
* flags that appeared or cleared.

A red-flag result is never compared (clinician first: no progress talk), see ``comparable``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .measurement import Measurement
from .model import Assessment, Question, SelfTest
from .scoring import NOT_RESTRICTED

SIDES = ("left", "right")
IMPROVED, DECREASED, WITHIN = "improved", "decreased", "within_error"
NOT_BEFORE, NOT_NOW = "not_measured_before", "not_measured_now"


@dataclass(frozen=True)
class Attempt:
    """One completed assessment: its date (ISO), its answers and its stored result."""

    date: str
    answers: Mapping[str, Any]
    result: Mapping[str, Any]


def compared_tests(assessment: Assessment) -> list[SelfTest]:
    """The self-tests a retake compares, in question order (each once)."""
    seen: dict[str, SelfTest] = {}
    for q in assessment.questions:
        if q.test is not None and q.test.measurement is not None:
            seen.setdefault(q.test.id, q.test)
    return list(seen.values())


def comparable(result: Mapping[str, Any] | None) -> bool:
    """A red-flag result is clinician first: no plan, no comparison."""
    return bool(result) and (result.get("safety") or {}).get("level") != "red"


def resolved_regions(previous: Mapping[str, Any] | None, regions: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Priorities of last time that a self-test now finds normal (or borderline): they step down
    to maintenance. A region that merely dropped out (untested, or outranked) is not resolved."""
    if not comparable(previous):
        return []
    now = {r["id"]: r for r in regions}
    out = []
    for p in previous.get("priorities") or []:
        region = now.get(p["region"])
        if region is not None and region.get("finding") in NOT_RESTRICTED:
            out.append({"region": p["region"], "label": region["label"]})
    return out


def _value(m: Measurement, q: Question, raw: Any) -> float | None:
    """A side's value on the test's scale: the number, or the option's step (0 = the best)."""
    if raw is None or raw == "":
        return None
    if m.kind == "numeric":
        return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    values = [o.value for o in q.options]
    if raw not in values:
        return None
    step = values.index(raw)
    return float(step if m.better == "first" else len(values) - 1 - step)


def _better(m: Measurement, delta: float) -> bool:
    """Whether a change is for the better: up for numbers where higher is better, towards the
    best option (a lower step) for choices."""
    if m.kind == "ordinal":
        return delta < 0
    return delta > 0 if m.better == "higher" else delta < 0


def judge(m: Measurement, before: float | None, now: float | None) -> tuple[str, float | None]:
    """The verdict for one side and the change (now - before). A change exactly at the
    measurement error counts (the MDC is the smallest real change); below it does not."""
    if before is None:
        return NOT_BEFORE, None
    if now is None:
        return NOT_NOW, None
    delta = round(now - before, 2)
    if abs(delta) + 1e-9 < m.change:
        return WITHIN, delta
    return (IMPROVED if _better(m, delta) else DECREASED), delta


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _unit(q: Question) -> str:
    unit = q.unit or ""
    return unit if unit in ("°", "") else f" {unit}"


def _shown(m: Measurement, q: Question, raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if m.kind == "numeric":
        return f"{_num(float(raw))}{_unit(q)}"
    return next((o.label for o in q.options if o.value == raw), str(raw))


def _side_text(m: Measurement, q: Question, side: str, verdict: str, delta: float | None,
               shown: tuple[str | None, str | None]) -> str:
    name = side.capitalize()
    if verdict == NOT_BEFORE:
        return f"{name}: not measured last time, so there is nothing to compare yet."
    if verdict == NOT_NOW:
        return f"{name}: not measured this time."
    if m.kind == "numeric":
        numbers = f"{shown[0]} → {shown[1]}"
    else:  # option labels, mid-sentence
        numbers = " → ".join(_lower(t or "") for t in shown)
    lead = f"{name}: {numbers}, "
    if delta == 0:
        if m.kind == "ordinal":
            return f"{name}: {_lower(shown[1] or '')}, the same as last time."
        return f"{lead}no change."
    if m.kind == "numeric":
        size, error = f"{_num(abs(delta))}{_unit(q)}", f"{_num(m.change)}{_unit(q)}"
    else:
        steps = int(abs(delta))
        size = f"{steps} step{'s' if steps != 1 else ''}"
        error = f"{int(m.change)} step{'s' if m.change != 1 else ''}"
    if verdict == WITHIN:
        return (f"{lead}within measurement error: a change of {size} is under the {error} "
                "this test can reliably show, so it is not counted as progress.")
    word = "improved" if verdict == IMPROVED else "decreased"
    return f"{lead}{word} by {size}, at or beyond the {error} measurement error."


def _lower(text: str) -> str:
    """A label mid-sentence: lower-case first letter, unless it starts with a digit or acronym."""
    first = text.split(" ", 1)[0]
    return text if not text or (first.isupper() and len(first) > 1) else text[:1].lower() + text[1:]


def _gap(m: Measurement, before: dict[str, float | None], now: dict[str, float | None],
         q: Question) -> dict[str, Any] | None:
    """A numeric test's gap between sides, before and now, judged against ``side_difference``."""
    if m.side_difference is None or None in (*before.values(), *now.values()):
        return None
    was = abs(before["left"] - before["right"])
    is_ = abs(now["left"] - now["right"])
    delta = round(is_ - was, 2)
    unit = _unit(q)
    if abs(delta) + 1e-9 < m.side_difference:
        verdict = WITHIN
        text = (f"The gap between sides went from {_num(was)}{unit} to {_num(is_)}{unit}: within "
                f"measurement error (under {_num(m.side_difference)}{unit}).")
    else:
        verdict = IMPROVED if delta < 0 else DECREASED
        word = "narrowed" if delta < 0 else "widened"
        text = f"The gap between sides {word} from {_num(was)}{unit} to {_num(is_)}{unit}."
    return {"before": was, "now": is_, "change": delta, "verdict": verdict, "text": text}


def _test(test: SelfTest, questions: Mapping[str, Question], attempts: Sequence[Attempt]) -> dict[str, Any] | None:
    m = test.measurement
    if m is None:
        return None
    qs = {side: questions[getattr(m, side)] for side in SIDES}
    raw = [{side: a.answers.get(getattr(m, side)) for side in SIDES} for a in attempts]
    values = [{side: _value(m, qs[side], r[side]) for side in SIDES} for r in raw]
    previous, current = values[-2], values[-1]
    if all(v is None for v in (*previous.values(), *current.values())):
        return None  # done neither time: nothing to say
    sides = []
    for side in SIDES:
        verdict, delta = judge(m, previous[side], current[side])
        sides.append({
            "side": side, "verdict": verdict, "change": delta,
            "before": previous[side], "now": current[side],
            "before_text": _shown(m, qs[side], raw[-2][side]), "now_text": _shown(m, qs[side], raw[-1][side]),
            "text": _side_text(m, qs[side], side, verdict, delta,
                               (_shown(m, qs[side], raw[-2][side]), _shown(m, qs[side], raw[-1][side]))),
        })
    left = qs["left"]
    entry: dict[str, Any] = {
        "id": test.id, "title": test.title, "kind": m.kind, "unit": (left.unit or "") if m.kind == "numeric" else "",
        "better": m.better, "error": m.change, "note": m.note,
        "basis": list(m.sources) if m.sources else "coach_judgement",
        "sides": sides, "gap": _gap(m, previous, current, left) if m.kind == "numeric" else None,
        "history": [{"date": a.date, **v} for a, v in zip(attempts, values, strict=True)
                    if any(x is not None for x in v.values())],
        "normal": {"low": m.normal.low, "high": m.normal.high},
    }
    if m.kind == "numeric":
        entry["scale"] = {"min": left.min if left.min is not None else 0, "max": left.max}
    else:  # steps 0 (best) … n-1, labelled
        labels = [o.label for o in left.options]
        if m.better == "last":
            labels.reverse()
        normal_steps = [float(s) for s in (_value(m, left, v) for v in m.normal.values) if s is not None]
        entry["scale"] = {"labels": labels}
        entry["normal"] = {"low": min(normal_steps, default=None), "high": max(normal_steps, default=None)}
    verdicts = {s["verdict"] for s in sides}
    entry["improved"], entry["decreased"] = IMPROVED in verdicts, DECREASED in verdicts
    return entry


def _priorities(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    was = {p["region"]: (rank, p["label"]) for rank, p in enumerate(previous.get("priorities") or [], 1)}
    now = {p["region"]: (rank, p["label"]) for rank, p in enumerate(current.get("priorities") or [], 1)}
    resolved = {r["region"] for r in resolved_regions(previous, current.get("regions") or [])}
    out: dict[str, list[dict[str, Any]]] = {"moved": [], "same": [], "new": [], "resolved": [], "dropped": []}
    for region, (rank, label) in now.items():
        if region not in was:
            out["new"].append({"region": region, "label": label, "now": rank})
        else:
            key = "same" if was[region][0] == rank else "moved"
            out[key].append({"region": region, "label": label, "was": was[region][0], "now": rank})
    for region, (rank, label) in was.items():
        if region not in now:
            key = "resolved" if region in resolved else "dropped"
            out[key].append({"region": region, "label": label, "was": rank})
    return out


def _flags(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    was = {f["id"]: f.get("label") or f["id"] for f in previous.get("flags") or []}
    now = {f["id"]: f.get("label") or f["id"] for f in current.get("flags") or []}
    return {"appeared": [{"id": i, "label": now[i]} for i in now if i not in was],
            "cleared": [{"id": i, "label": was[i]} for i in was if i not in now]}


def compare(assessment: Assessment, attempts: Sequence[Attempt]) -> dict[str, Any] | None:
    """The newest attempt (last) against the one before it; the charts span all of them.
    None with fewer than two attempts, or when the newest is a red flag."""
    if len(attempts) < 2 or not comparable(attempts[-1].result):
        return None
    previous, current = attempts[-2], attempts[-1]
    questions = {q.id: q for q in assessment.questions}
    tests = [t for t in (_test(test, questions, attempts) for test in compared_tests(assessment)) if t]
    previous_red = not comparable(previous.result)
    empty: dict[str, list[Any]] = {"moved": [], "same": [], "new": [], "resolved": [], "dropped": []}
    return {
        "previous_date": previous.date,
        "attempts": len(attempts),
        "previous_red": previous_red,
        "tests": tests,
        "priorities": empty if previous_red else _priorities(previous.result, current.result),
        "flags": _flags(previous.result, current.result),
        "improved_tests": sum(1 for t in tests if t["improved"]),
        "decreased_tests": sum(1 for t in tests if t["decreased"]),
    }
