"""The whole-stack bench's report (``bench/run.py``): the targets table, and its section of
docs/benchmarks.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.stack_kit import pct

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- bench/run.py: start -->", "<!-- bench/run.py: end -->"


# --- report -------------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "n/a" if value != value else (f"{value:,.0f}" if value >= 100 else f"{value:.1f}")


def report(meta: dict[str, Any], levels: dict[int, dict[str, Any]], reads: dict[str, Any]) -> str:
    lines = []
    add = lines.append
    top = max(levels)
    add(f"Measured {meta['date']} with `{meta['command']}` on {meta['machine']['cpu']}, "
        f"{meta['machine']['memory']} RAM, CPython {meta['machine']['python']}; database: {meta['database']}; "
        f"broker: {meta['broker']}; gunicorn {meta['gunicorn_workers']} sync workers "
        f"(`coachapp/gunicorn_conf.py`, COACHAPP_ENV=production), Celery worker `--concurrency 2` and beat, "
        f"an aiosmtpd sink, the load generator ({meta['saturation_tool']} for saturation, an asyncio open-loop "
        f"client) — all on this one machine. Load average {meta['load_before']} before, {meta['load_after']} "
        f"after. {meta['conditions']}")
    add("")
    add("**Targets (issue 12)**, each beside the bare baseline measured right before it "
        "(bare Flask: validate + one INSERT, same gunicorn settings, same database):")
    add("")
    add("| target | leads | coachapp | bare baseline | ratio | goal | met |")
    add("|---|---:|---:|---:|---:|---|---|")
    for level, res in levels.items():
        for form, key, goal_cpu in (("API", "api", 8.0), ("strategy form", "strategy", None)):
            r = res[key]
            app_cpu, bare_cpu = sum(r["app_cpu_ms"].values()), sum(r["bare_cpu_ms"].values())
            detail = ", ".join(f"{k} {v:.1f}" for k, v in r["app_cpu_ms"].items())
            add(f"| {form}: CPU per submission incl. its email ({detail}) | {level:,} | {app_cpu:.1f} ms | "
                f"{bare_cpu:.1f} ms | {app_cpu / max(bare_cpu, 1e-9):.1f}× | "
                + (f"≤ {goal_cpu:g} ms | {'yes' if app_cpu <= goal_cpu else 'no'} |" if goal_cpu else "— | |"))
            a, b = r["app_open"], r["bare_open"]
            add(f"| {form}: open loop {meta['rate']:g}/s, p50 / p99, errors | {level:,} | "
                f"{ms(pct(a.latencies_ms, 50))} / {ms(pct(a.latencies_ms, 99))} ms, {a.errors} | "
                f"{ms(pct(b.latencies_ms, 50))} / {ms(pct(b.latencies_ms, 99))} ms, {b.errors} | "
                f"{pct(a.latencies_ms, 99) / max(pct(b.latencies_ms, 99), 1e-9):.0f}× (p99) | p99 ≤ 50 ms, 0 errors | "
                f"{'yes' if pct(a.latencies_ms, 99) <= 50 and a.errors == 0 else 'no'} |")
            s, bs = r["app_sat"], r["bare_sat"]
            share = s["rps"] / max(bs["rps"], 1e-9)
            add(f"| {form}: saturation, {meta['connections']} connections | {level:,} | {s['rps']:,.1f} req/s "
                f"({s['errors']} errors) | {bs['rps']:,.0f} req/s | {share:.1%} | ≥ 25 % | "
                f"{'yes' if share >= 0.25 else 'no'} |")
            if "inbox_ms" in r:
                p95 = pct(r["inbox_ms"], 95)
                add(f"| API: time to inbox p95 (outbox row stored → sink), {len(r['inbox_ms'])} emails"
                    f"{', ' + str(r['inbox_missing']) + ' missing' if r['inbox_missing'] else ''} | {level:,} | "
                    f"{ms(p95)} ms | — | — | ≤ 1 s | {'yes' if p95 <= 1000 and not r['inbox_missing'] else 'no'} |")
    b99 = pct(reads["bare_get"], 99)
    for label, key in (("leads list, first page", "list"), ("search, common name (`jordan`)", "search_name"),
                       ("search, one whole email address", "search_email")):
        p99 = pct(reads[key], 99)
        add(f"| {label}: p50 / p99 (CPU per request), signed in | {top:,} | {ms(pct(reads[key], 50))} / {ms(p99)} ms "
            f"({reads['cpu_ms'][key]:.1f} ms) | {ms(pct(reads['bare_get'], 50))} / {ms(b99)} ms "
            f"({reads['cpu_ms']['bare_get']:.1f} ms; primary-key GET) | {p99 / max(b99, 1e-9):.0f}× | "
            f"p99 ≤ 50 ms | {'yes' if p99 <= 50 else 'no'} |")
    after = reads["after"]
    add(f"| leads list, first page, after the write runs ({after['leads']:,} leads, {after['tasks']:,} coach tasks): "
        f"p50 / p99 (CPU per request) | {after['leads']:,} | {ms(pct(after['list'], 50))} / "
        f"{ms(pct(after['list'], 99))} ms ({after['cpu_ms']:.1f} ms) | — | — | p99 ≤ 50 ms | "
        f"{'yes' if pct(after['list'], 99) <= 50 else 'no'} |")
    c, bc = reads["csv"], reads["bare_csv"]
    rate, brate = c["rows"] / c["seconds"], bc["rows"] / bc["seconds"]
    add(f"| streamed CSV, all leads ({c['rows']:,} lines, {c['mb']:.1f} MB): rows/s, worker RSS growth | {top:,} | "
        f"{rate:,.0f} rows/s, +{c['rss_growth_kib']:,} KiB | {brate:,.0f} rows/s, +{bc['rss_growth_kib']:,} KiB "
        f"(raw cursor) | {rate / brate:.0%} | ≥ 100,000 rows/s, flat | "
        f"{'yes' if rate >= 100_000 else 'no'} |")
    add("")
    add(f"Open loop: {meta['rate']:g} requests/s for {meta['seconds']:g} s per run, latency from each request's "
        f"intended send time (a request the server could not start counts its wait), 10 s timeout = error. "
        f"CPU per submission: CPU time of the gunicorn tree, the Celery worker tree and the PostgreSQL "
        f"backends of the bench database over the open-loop run and until its emails were delivered, "
        f"divided by the submissions the server stored (including those the client had given up on; "
        f"beat and the load generator not counted; with SQLite "
        f"the database's CPU is inside the web and worker figures). Reads: {meta['read_requests']} "
        f"sequential requests each after a warm-up.")
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text_ = DOC.read_text()
    block = f"{START_MARK}\n{section}\n{END_MARK}"
    if START_MARK in text_:
        text_ = re.sub(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), lambda _: block, text_, flags=re.S)
    else:
        head, sep, rest = text_.partition("\n## ")
        text_ = f"{head}\n{block}\n\n## {rest}" if sep else f"{text_}\n{block}\n"
    DOC.write_text(text_)
