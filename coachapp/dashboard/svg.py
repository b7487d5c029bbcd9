"""Server-side SVG charts rendered as strings: pure functions, no Flask, no database.

Each chart is an ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>``; every bar
carries a ``<title>`` (the exact figure, shown on hover and read by screen readers). Only SVG
presentation attributes (``fill``, ``font-size``, ``text-anchor``…) are used, never ``style=``,
so a CSP with ``style-src 'self'`` renders them unchanged. Every label is escaped. Empty or
all-zero data gives a small "No data yet" picture instead of an empty frame. The page still
shows each chart's figures as a table: the SVG is never the only way to read them.

Phones first: a chart is ``WIDTH`` (320) units wide and scales to its box (``width="100%"``, no
fixed pixel size), and no text is smaller than ``MIN_FONT`` (13) units, so at a phone's 390 CSS
pixels (about 330 px for the chart) every label renders at 13 px or more. Bar labels sit above
their bar, never beside it, so long names keep the full width.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f7a5c", "#2f6db5", "#b7791f", "#8a4fbf", "#c05656", "#4a5568")
INK = "#1d2329"
MUTED = "#5b6570"
LINE = "#dfe3e8"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
NO_DATA = "No data yet"
WIDTH = 320  # viewBox units; the chart is drawn at its container's width
MIN_FONT = 13
CHAR = 7.2  # a generous average character width at 13 units, to keep text inside the frame
BOLD_CHAR = 8.4  # the same in bold


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and an optional note printed after the value (e.g. "40%")."""

    label: str
    value: float
    note: str = ""


def esc(text: object) -> str:
    """Text or attribute value, escaped for XML (``<``, ``>``, ``&``, both quotes)."""
    return escape(str(text), quote=True)


def fmt(value: float) -> str:
    """Whole numbers without decimals, others with one."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def clip(label: str, limit: int) -> str:
    """Shorten a label to ``limit`` characters with an ellipsis (the full text stays in <title>)."""
    return label if len(label) <= limit else label[: max(limit - 1, 1)].rstrip() + "…"


def _safe_id(chart_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", chart_id) or "chart"


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> str:
    cid = _safe_id(chart_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{esc(FONT)}">'
        f'<title id="{cid}-title">{esc(title)}</title><desc id="{cid}-desc">{esc(desc or title)}</desc>'
    )


def _text(x: float, y: float, content: str, *, size: int = MIN_FONT, fill: str = INK, anchor: str = "start",
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{max(size, MIN_FONT)}" fill="{fill}" '
            f'text-anchor="{anchor}" font-weight="{weight}" dominant-baseline="middle">{esc(content)}</text>')


def no_data(chart_id: str, title: str, message: str = NO_DATA, width: int = WIDTH) -> str:
    """A small, labelled picture saying there is nothing to draw yet."""
    height = 56
    return (_open(chart_id, title, f"{title}: {message}", width, height)
            + f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="8" fill="#f8fafb" '
              f'stroke="{LINE}"/>'
            + _text(width / 2, height / 2, clip(message, int((width - 16) // CHAR)), size=14, fill=MUTED,
                    anchor="middle")
            + "</svg>")


def hbar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, desc: str = "", color: str = PALETTE[0],
               width: int = WIDTH, unit: str = "", empty: str = NO_DATA) -> str:
    """Horizontal bars, one row per item: the label on its own line, the bar below it with its value
    after it. The largest value spans the plot (the width less room for the longest value text)."""
    if not bars or max(b.value for b in bars) <= 0:
        return no_data(chart_id, title, empty, width=width)
    row, top, label_h, bar_h = 42, 4, 16, 16
    shown = [fmt(b.value) + unit + (f" · {b.note}" if b.note else "") for b in bars]
    value_width = min(max(40, CHAR * max(len(text) for text in shown) + 8), width / 2)
    plot = width - value_width
    height = top * 2 + row * len(bars)
    peak = max(b.value for b in bars)
    parts = [_open(chart_id, title, desc, width, height)]
    for i, (bar, text) in enumerate(zip(bars, shown, strict=True)):
        y = top + i * row
        length = plot * max(bar.value, 0) / peak
        bar_y = y + label_h + 2
        parts.append(
            f'<g class="row"><title>{esc(bar.label)}: {esc(text)}</title>'
            + _text(0, y + label_h / 2, clip(bar.label, int(width // CHAR)))
            + f'<rect class="bar" x="0" y="{bar_y}" width="{length:.2f}" height="{bar_h}" rx="3" '
              f'fill="{esc(color)}"/>'
            + _text(length + 6, bar_y + bar_h / 2, clip(text, int((value_width - 6) // CHAR)), fill=MUTED)
            + "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(chart_id: str, title: str, categories: Sequence[str], values: Sequence[float], *,
                 desc: str = "", color: str = PALETTE[0], width: int = WIDTH) -> str:
    """One column per category (e.g. ISO weeks), the largest reaching the full height; under the
    title a line states the total and the peak, so that small charts of different sizes stay comparable.

    Several of these side by side (one per funnel step) make small multiples that reflow: one
    per row on a phone, several on a wide screen.
    """
    if not categories or max(values, default=0) <= 0:
        return no_data(chart_id, title, width=width)
    head, foot, plot_h = 44, 24, 90
    height = head + plot_h + foot
    n = len(categories)
    slot = width / n
    label_every = max(1, math.ceil(n / max(1, int(width // 60))))  # a label every ~60 units
    peak = max(values, default=0)
    parts = [_open(chart_id, title, desc, width, height),
             _text(0, 10, clip(title, int(width // BOLD_CHAR)), weight="bold"),
             _text(0, 28, clip(f"total {fmt(sum(values))} · peak {fmt(peak)} a week", int(width // CHAR)),
                   fill=MUTED)]
    base = head + plot_h
    parts.append(f'<line x1="0" y1="{base:.1f}" x2="{width}" y2="{base:.1f}" stroke="{LINE}"/>')
    for i, category in enumerate(categories):
        value = values[i] if i < len(values) else 0
        h = plot_h * value / peak
        x = i * slot + slot * 0.15
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{base - h:.2f}" width="{slot * 0.7:.2f}" height="{h:.2f}" '
            f'fill="{esc(color)}"><title>{esc(title)}, {esc(category)}: {fmt(value)}</title></rect>'
        )
        if i % label_every == 0:
            label = clip(category, 7)
            half = CHAR * len(label) / 2 + 3  # keep the label inside the frame
            cx = min(max((i + 0.5) * slot, half), width - half)
            parts.append(_text(cx, base + 12, label, fill=MUTED, anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)
