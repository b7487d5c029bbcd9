"""One self-test over a runner's attempts as a small server-side SVG. Pure: no Flask, no database.

Input is one entry of ``result["progress"]["tests"]`` (``assessment/progress.py``): its history
(date, left, right per attempt), its scale and its normal band. Drawn: the normal band shaded,
one line per side (left solid, right dashed, each with its own colour and a label at its last
point, so colour is never the only cue), a dot and a ``<title>`` per attempt. The ``<svg>`` is
``role="img"`` labelled by its ``<title>`` and ``<desc>`` (the figures in words); the page puts a
table beside it. Presentation attributes only (no ``style=``): the CSP's ``style-src 'self'``
renders it. 320 units wide, scaled to its box, no text under 13 units: readable at 390 px.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from html import escape
from typing import Any

WIDTH, HEIGHT = 320, 190
LEFT_PAD, RIGHT_PAD, TOP, BOTTOM = 40, 52, 26, 30
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
INK, MUTED, GRID, BAND = "#1d2329", "#5b6570", "#dfe3e8", "#e3f1ea"
SIDE_STYLE = {"left": ("#1f5fa8", ""), "right": ("#a3461f", ' stroke-dasharray="6 4"')}


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def short_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%b')} {d.year % 100:02d}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _text(x: float, y: float, content: str, *, fill: str = INK, anchor: str = "start", size: int = 13) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
            f'dominant-baseline="middle">{esc(content)}</text>')


def _range(test: Mapping[str, Any]) -> tuple[float, float]:
    """The y range: ordinal steps 0…n-1; numbers zoomed on the data and the band's edge, inside
    the question's own limits."""
    if test["kind"] == "ordinal":
        return 0.0, float(max(len(test["scale"]["labels"]) - 1, 1))
    values = [p[s] for p in test["history"] for s in ("left", "right") if p.get(s) is not None]
    edges = [v for v in (test["normal"].get("low"), test["normal"].get("high")) if v is not None]
    lo_all, hi_all = min(values + edges), max(values + edges)
    pad = max((hi_all - lo_all) * 0.15, 1.0)
    floor, ceiling = test["scale"].get("min"), test["scale"].get("max")
    lo = math.floor(lo_all - pad if floor is None else max(floor, lo_all - pad))
    hi = math.ceil(hi_all + pad if ceiling is None else min(ceiling, hi_all + pad))
    return (lo, hi) if hi > lo else (lo, lo + 1)


def describe(test: Mapping[str, Any]) -> str:
    """The chart's figures in words (its <desc>): each attempt's left and right."""
    labels = test["scale"].get("labels")

    def shown(v: float | None) -> str:
        if v is None:
            return "not measured"
        return labels[int(v)] if labels else f"{_num(v)} {test['unit']}".strip()

    parts = [f"{short_date(p['date'])}: left {shown(p.get('left'))}, right {shown(p.get('right'))}"
             for p in test["history"]]
    return f"{test['title']} over {len(parts)} attempt{'s' if len(parts) != 1 else ''}. " + "; ".join(parts) + "."


def chart(test: Mapping[str, Any], chart_id: str) -> str:
    """The SVG for one test's history (one or more attempts)."""
    cid = esc(chart_id)
    history = test["history"]
    lo, hi = _range(test)
    ordinal = test["kind"] == "ordinal"
    plot_w, plot_h = WIDTH - LEFT_PAD - RIGHT_PAD, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:  # ordinal: step 0 (best) at the top; numbers: higher at the top
        frac = (v - lo) / (hi - lo)
        if not ordinal and test.get("better") == "lower":
            frac = 1 - frac
        return TOP + (frac if ordinal else 1 - frac) * plot_h

    def x(i: int) -> float:
        return LEFT_PAD + (plot_w / 2 if len(history) == 1 else plot_w * i / (len(history) - 1))

    title = f"{test['title']}: left and right over your attempts"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart progress-chart" id="{cid}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-family="{esc(FONT)}">',
        f'<title id="{cid}-title">{esc(title)}</title><desc id="{cid}-desc">{esc(describe(test))}</desc>',
    ]
    band_lo, band_hi = test["normal"].get("low"), test["normal"].get("high")
    if band_lo is not None or band_hi is not None:
        a = lo if band_lo is None else max(lo, min(hi, band_lo))
        b = hi if band_hi is None else max(lo, min(hi, band_hi))
        if ordinal:  # a step's band spans half a step either side
            a, b = max(lo, a - 0.4), min(hi, b + 0.4)
        top, bottom = sorted((y(a), y(b)))
        parts.append(f'<rect class="normal-band" x="{LEFT_PAD}" y="{top:.1f}" width="{plot_w}" '
                     f'height="{max(bottom - top, 2):.1f}" fill="{BAND}"><title>Normal range</title></rect>')
        parts.append(_text(LEFT_PAD + 4, top + 10, "normal", fill="#1f6b4a"))
    base = TOP + plot_h
    parts.append(f'<line x1="{LEFT_PAD}" y1="{base}" x2="{LEFT_PAD + plot_w}" y2="{base}" stroke="{GRID}"/>')
    if ordinal:
        parts.append(_text(LEFT_PAD - 6, TOP, "best", fill=MUTED, anchor="end"))
        parts.append(_text(LEFT_PAD - 6, TOP + plot_h, "least", fill=MUTED, anchor="end"))
    else:
        ticks = {lo, hi, *(e for e in (band_lo, band_hi) if e is not None and lo < e < hi)}
        for v in sorted(ticks):
            if v in (lo, hi) or min(abs(y(v) - y(lo)), abs(y(v) - y(hi))) >= 16:  # no overlapping labels
                parts.append(_text(LEFT_PAD - 6, y(v), _num(round(v, 1)), fill=MUTED, anchor="end"))
        if test["unit"]:
            parts.append(_text(LEFT_PAD - 6, TOP - 14, test["unit"], fill=MUTED, anchor="end"))
    every = max(1, -(-len(history) // 3))  # at most about three date labels
    for i, point in enumerate(history):
        if i % every == 0 or i == len(history) - 1:
            last = len(history) - 1
            anchor = "start" if i == 0 and last else "end" if i == last and last else "middle"
            parts.append(_text(x(i), HEIGHT - 12, short_date(point["date"]), fill=MUTED, anchor=anchor))
    for side in ("left", "right"):
        color, dash = SIDE_STYLE[side]
        points = [(x(i), y(p[side]), p) for i, p in enumerate(history) if p.get(side) is not None]
        if not points:
            continue
        coords = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        parts.append(f'<g class="side side-{side}"><polyline class="line" points="{coords}" fill="none" '
                     f'stroke="{color}" stroke-width="2.5"{dash}/>')
        for px, py, p in points:
            value = test["scale"]["labels"][int(p[side])] if ordinal else f"{_num(p[side])} {test['unit']}".strip()
            label = f"{side.capitalize()}, {short_date(p['date'])}: {value}"
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{color}">'
                         f'<title>{esc(label)}</title></circle>')
        last_x, last_y, _ = points[-1]
        offset = -9 if side == "left" else 9
        parts.append(_text(last_x + 8, last_y + offset, side.capitalize(), fill=color) + "</g>")
    parts.append("</svg>")
    return "".join(parts)
