"""A rate with its interval, drawn (pure, no Flask): one row per group, a dot at the rate and a
line across its 95 % interval on a shared 0 – top scale, so overlapping intervals are seen at once.

Built on ``svg.py``'s frame and text (escaped labels, no ``style=``, 13-unit text at phone width);
the page shows the same figures as a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coachapp.dashboard.svg import CHAR, INK, LINE, MUTED, PALETTE, WIDTH, _open, _text, clip, esc, no_data


@dataclass(frozen=True)
class Whisker:
    label: str
    rate: float | None  # None: too few to say (the row says so, no dot)
    low: float = 0.0
    high: float = 0.0


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def interval_chart(chart_id: str, title: str, rows: Sequence[Whisker], *, desc: str = "",
                   color: str = PALETTE[0], width: int = WIDTH, empty: str = "Too few leads to draw") -> str:
    """Dot-and-interval rows; the scale runs from 0 to the largest upper bound (rounded up to 10 %)."""
    drawn = [r for r in rows if r.rate is not None]
    if not drawn:
        return no_data(chart_id, title, empty, width=width)
    top = max(0.1, min(1.0, -(-max(r.high for r in drawn) * 10 // 1) / 10))
    row, pad, label_h = 40, 4, 16
    height = pad * 2 + row * len(rows) + 18
    plot = width - 8
    parts = [_open(chart_id, title, desc, width, height)]
    for i, r in enumerate(rows):
        y = pad + i * row
        line_y = y + label_h + 12
        if r.rate is None:
            parts.append(f'<g class="row"><title>{esc(r.label)}: too few leads to say</title>'
                         + _text(0, y + label_h / 2, clip(f"{r.label}: too few to say", int(width // CHAR)),
                                 fill=MUTED) + "</g>")
            continue
        x0, x1, xr = (4 + plot * v / top for v in (r.low, r.high, r.rate))
        shown = f"{r.label}: {_pct(r.rate)} ({_pct(r.low)}–{_pct(r.high)})"
        parts.append(
            f'<g class="row"><title>{esc(shown)}</title>'
            + _text(0, y + label_h / 2, clip(shown, int(width // CHAR)))
            + f'<line x1="4" y1="{line_y:.1f}" x2="{width - 4}" y2="{line_y:.1f}" stroke="{LINE}"/>'
            + f'<line x1="{x0:.1f}" y1="{line_y:.1f}" x2="{x1:.1f}" y2="{line_y:.1f}" stroke="{esc(color)}" '
              f'stroke-width="4" stroke-linecap="round"/>'
            + f'<circle cx="{xr:.1f}" cy="{line_y:.1f}" r="5" fill="{INK}"/></g>')
    axis_y = height - 10
    parts.append(_text(4, axis_y, "0%", fill=MUTED) + _text(width - 4, axis_y, _pct(top).replace(".0", ""),
                                                             fill=MUTED, anchor="end"))
    parts.append("</svg>")
    return "".join(parts)
