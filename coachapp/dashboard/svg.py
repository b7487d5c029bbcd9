"""Server-side SVG charts rendered as strings: pure functions, no Flask, no database.

Each chart is an ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>``; every bar
carries a ``<title>`` (the exact figure, shown on hover and read by screen readers). Only SVG
presentation attributes (``fill``, ``font-size``, ``text-anchor``…) are used, never ``style=``,
so a CSP with ``style-src 'self'`` renders them unchanged. Every label is escaped. Empty or
all-zero data gives a small "No data yet" picture instead of an empty frame. The page still
shows each chart's figures as a table: the SVG is never the only way to read them.
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
        f'width="{width}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{esc(FONT)}">'
        f'<title id="{cid}-title">{esc(title)}</title><desc id="{cid}-desc">{esc(desc or title)}</desc>'
    )


def _text(x: float, y: float, content: str, *, size: int = 13, fill: str = INK, anchor: str = "start",
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
            f'font-weight="{weight}" dominant-baseline="middle">{esc(content)}</text>')


def no_data(chart_id: str, title: str, message: str = NO_DATA, width: int = 640) -> str:
    """A small, labelled picture saying there is nothing to draw yet."""
    height = 64
    return (_open(chart_id, title, f"{title}: {message}", width, height)
            + f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="8" fill="#f8fafb" '
              f'stroke="{LINE}"/>'
            + _text(width / 2, height / 2, message, size=15, fill=MUTED, anchor="middle")
            + "</svg>")


def hbar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, desc: str = "", color: str = PALETTE[0],
               width: int = 640, label_width: int = 200, unit: str = "", empty: str = NO_DATA) -> str:
    """Horizontal bars, one row per item, scaled so the largest value spans the full plot width."""
    if not bars or max(b.value for b in bars) <= 0:
        return no_data(chart_id, title, empty, width=width)
    row, top = 28, 8
    shown = [fmt(b.value) + unit + (f" · {b.note}" if b.note else "") for b in bars]
    # Room after the longest bar for its value text (about 7 px a character at 13 px).
    value_width = min(max(48, 7 * max(len(text) for text in shown) + 16), (width - label_width) // 2)
    plot = width - label_width - value_width
    height = top * 2 + row * len(bars)
    peak = max(b.value for b in bars)
    parts = [_open(chart_id, title, desc, width, height)]
    for i, (bar, text) in enumerate(zip(bars, shown, strict=True)):
        y = top + i * row
        length = plot * max(bar.value, 0) / peak
        parts.append(
            f'<g class="row"><title>{esc(bar.label)}: {esc(text)}</title>'
            + _text(label_width - 8, y + row / 2, clip(bar.label, label_width // 7), anchor="end")
            + f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{length:.2f}" height="{row - 8}" '
              f'rx="3" fill="{esc(color)}"/>'
            + _text(label_width + length + 6, y + row / 2, clip(text, (value_width - 12) // 7), fill=MUTED)
            + "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def column_panels(chart_id: str, title: str, categories: Sequence[str],
                  panels: Sequence[tuple[str, Sequence[float]]], *, desc: str = "", columns: int = 2,
                  width: int = 720) -> str:
    """Small multiples: one column chart per panel over the same categories (e.g. ISO weeks).

    Each panel has its own scale (its largest column reaches the full panel height); the panel
    heading states its total and peak so that panels of different sizes stay comparable.
    """
    if not categories or not panels or all(max(values, default=0) <= 0 for _, values in panels):
        return no_data(chart_id, title, width=width)
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    gap, head, foot, plot_h = 16, 24, 20, 90
    panel_w = (width - gap * (columns - 1)) / columns
    panel_h = head + plot_h + foot
    height = rows * panel_h + (rows - 1) * gap
    n = len(categories)
    slot = panel_w / n
    label_every = max(1, math.ceil(n / max(1, int(panel_w // 56))))  # a label every ~56 px
    parts = [_open(chart_id, title, desc, width, int(math.ceil(height)))]
    for index, (name, values) in enumerate(panels):
        x0 = (index % columns) * (panel_w + gap)
        y0 = (index // columns) * (panel_h + gap)
        peak = max(values, default=0)
        parts.append(f'<g class="panel"><title>{esc(name)}</title>')
        parts.append(_text(x0, y0 + 10, f"{name} — total {fmt(sum(values))}, peak {fmt(peak)}",
                           size=12, weight="bold"))
        base = y0 + head + plot_h
        parts.append(f'<line x1="{x0:.1f}" y1="{base:.1f}" x2="{x0 + panel_w:.1f}" y2="{base:.1f}" '
                     f'stroke="{LINE}"/>')
        for i, category in enumerate(categories):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / peak if peak > 0 else 0.0
            x = x0 + i * slot + slot * 0.15
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{base - h:.2f}" width="{slot * 0.7:.2f}" height="{h:.2f}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{esc(name)}, {esc(category)}: '
                f'{fmt(value)}</title></rect>'
            )
            if i % label_every == 0:
                label = clip(category, 8)
                half = 3 * len(label)  # about half the label's width at 10 px: keep it inside the panel
                cx = min(max(x0 + (i + 0.5) * slot, x0 + half), x0 + panel_w - half)
                parts.append(_text(cx, base + 10, label, size=10, fill=MUTED, anchor="middle"))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
