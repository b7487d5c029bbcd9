"""Benchmark the assessment engine on one core: `python bench/bench_engine.py`.

Loads the rules once, builds 1,000 varied answer sets deterministically (random.Random(42))
and reports load time, evaluations per second (median of 5 runs), per-evaluation latency
percentiles and peak traced memory, next to a baseline measured in the same run (a JSON
round-trip of each answer set) so the figures can be read relative to this machine.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coachapp.assessment import Rules, evaluate, load_rules  # noqa: E402
from coachapp.assessment.samples import random_answers  # noqa: E402

TODAY = date(2026, 11, 21)
N_SETS = 1000
RUNS = 5
Call = Callable[[dict[str, Any]], Any]


def per_second(fn: Call, sets: list[dict[str, Any]]) -> float:
    """Median throughput of RUNS passes over all answer sets."""
    rates = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for answers in sets:
            fn(answers)
        rates.append(len(sets) / (time.perf_counter() - start))
    return statistics.median(rates)


def latencies_us(fn: Call, sets: list[dict[str, Any]]) -> tuple[float, float]:
    """p50 and p99 of single calls, in microseconds."""
    samples = []
    for answers in sets:
        start = time.perf_counter_ns()
        fn(answers)
        samples.append((time.perf_counter_ns() - start) / 1000)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


def peak_kib(fn: Call, sets: list[dict[str, Any]]) -> float:
    tracemalloc.start()
    for answers in sets:
        fn(answers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    start = time.perf_counter()
    rules: Rules = load_rules(ROOT / "rules")
    load_ms = (time.perf_counter() - start) * 1000

    rng = random.Random(42)
    sets = [random_answers(rules.assessment, rng, TODAY) for _ in range(N_SETS)]

    def engine(answers: dict[str, Any]) -> Any:
        return evaluate(rules, answers, TODAY).to_dict()

    def baseline(answers: dict[str, Any]) -> Any:
        return json.loads(json.dumps(answers))

    for answers in sets:  # warm-up (fills the schedule placement cache)
        engine(answers)
    outcomes: dict[str, int] = {}
    for answers in sets:
        level = evaluate(rules, answers, TODAY).safety["level"]
        outcomes[level] = outcomes.get(level, 0) + 1

    rows = []
    cases = (("engine: evaluate + to_dict", engine), ("baseline: json round-trip", baseline))
    for name, fn in cases:
        rate = per_second(fn, sets)
        p50, p99 = latencies_us(fn, sets)
        rows.append((name, rate, p50, p99, peak_kib(fn, sets)))

    print(f"rules {rules.version} loaded in {load_ms:.1f} ms")
    print(f"{N_SETS} answer sets (random.Random(42)); safety outcomes: {outcomes}")
    print(f"{'':30} {'evals/s':>10} {'p50 µs':>9} {'p99 µs':>9} {'peak KiB':>10}")
    for name, rate, p50, p99, peak in rows:
        print(f"{name:30} {rate:10,.0f} {p50:9.1f} {p99:9.1f} {peak:10,.0f}")
    engine_rate, baseline_rate = rows[0][1], rows[1][1]
    ratio = baseline_rate / engine_rate
    print(f"one evaluation costs {ratio:.1f}× a JSON round-trip of its answers on this machine")


if __name__ == "__main__":
    main()
