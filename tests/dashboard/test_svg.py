"""The SVG chart functions: well-formed, accessible, escaped, CSP-safe, to scale, and readable on a phone."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from coachapp.dashboard.svg import (
    BOLD_CHAR,
    CHAR,
    MIN_FONT,
    NO_DATA,
    WIDTH,
    Bar,
    column_chart,
    hbar_chart,
    no_data,
)

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & co'
PHONE_CHART_PX = 330  # a 390 px wide phone, less the page and card padding


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on malformed XML
    assert root.tag == f"{NS}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(f"{NS}rect") if el.get("class") == "bar"]


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter() if el.tag in (f"{NS}text", f"{NS}title", f"{NS}desc")]


def assert_csp_safe(svg: str, root: ET.Element) -> None:
    assert "style=" not in svg
    assert all("style" not in el.attrib for el in root.iter())
    assert not list(root.iter(f"{NS}script")) and not list(root.iter(f"{NS}style"))


def assert_phone_readable(root: ET.Element) -> None:
    """Scales to its box (no fixed pixel width), and every label is >= 12 px at a phone's width."""
    assert root.get("width") == "100%" and root.get("height") is None
    _, _, width, _ = (float(v) for v in root.get("viewBox").split())
    assert width <= 400
    scale = PHONE_CHART_PX / width
    for el in root.iter(f"{NS}text"):
        assert float(el.get("font-size")) * scale >= 12, el.text
        # and it stays inside the frame (estimated at CHAR units a character)
        x = float(el.get("x"))
        n = len(el.text or "") * (BOLD_CHAR / CHAR if el.get("font-weight") == "bold" else 1)
        extent = {"start": (x, x + CHAR * n), "middle": (x - CHAR * n / 2, x + CHAR * n / 2),
                  "end": (x - CHAR * n, x)}[el.get("text-anchor")]
        assert extent[0] >= -0.5 and extent[1] <= width + 0.5, el.text


def test_hbar_chart_is_well_formed_accessible_and_scaled() -> None:
    svg = hbar_chart("c1", "Leads by source", [Bar("google", 10), Bar("strava", 5, "2 clients"), Bar("direct", 0)])
    root = parse(svg)
    assert_csp_safe(svg, root)
    assert_phone_readable(root)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{NS}title").text == "Leads by source"
    rects = bars(root)
    assert len(rects) == 3
    widths = [float(r.get("width")) for r in rects]
    full = WIDTH - (CHAR * len("5 · 2 clients") + 8)  # the width less room for the longest value text
    assert widths[0] == pytest.approx(full)
    assert widths[1] == pytest.approx(full / 2)
    assert widths[2] == 0
    assert "strava: 5 · 2 clients" in texts(root)


def test_labels_sit_above_their_bars() -> None:
    root = parse(hbar_chart("c7", "t", [Bar("A long step name that needs room", 3), Bar("b", 1)]))
    rows = root.findall(f"{NS}g")
    for row in rows:
        label, rect = row.find(f"{NS}text"), row.find(f"{NS}rect")
        assert float(label.get("x")) == 0 and float(rect.get("x")) == 0
        assert float(label.get("y")) < float(rect.get("y"))
    assert "A long step name that needs room" in texts(root)  # not clipped: the label has the full width


def test_labels_are_escaped_and_stay_inert() -> None:
    svg = hbar_chart("c2", f"Title {EVIL}", [Bar(EVIL, 3)], desc=EVIL)
    root = parse(svg)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg and "&amp; co" in svg
    assert not list(root.iter(f"{NS}script"))
    assert f"Title {EVIL}" in texts(root)  # the parsed text is the literal label
    assert f"{EVIL}: 3" in texts(root)


def test_column_chart_one_bar_per_category_full_height() -> None:
    weeks = ["3 Nov", "10 Nov", "17 Nov"]
    svg = column_chart("c3", "Started", weeks, [2, 4, 1])
    root = parse(svg)
    assert_csp_safe(svg, root)
    assert_phone_readable(root)
    heights = [float(r.get("height")) for r in bars(root)]
    assert heights == pytest.approx([45, 90, 22.5])  # its peak is full height
    assert "Started, 17 Nov: 1" in texts(root)
    assert "Started" in texts(root) and "total 7 · peak 4 a week" in texts(root)


@pytest.mark.parametrize("weeks", [4, 12, 26, 52])
def test_column_chart_week_labels_do_not_overlap(weeks: int) -> None:
    labels = [f"{d} Nov" for d in range(weeks)]
    root = parse(column_chart("c8", "Visited the assessment page", labels, list(range(1, weeks + 1))))
    assert_phone_readable(root)
    shown = sorted((float(el.get("x")), el.text) for el in root.iter(f"{NS}text") if el.get("text-anchor") == "middle")
    assert shown and len(shown) <= WIDTH // 60
    for (x1, a), (x2, b) in zip(shown, shown[1:], strict=False):
        assert x2 - x1 >= CHAR * (len(a) + len(b)) / 2, (a, b)


def test_column_chart_escapes_category_and_title() -> None:
    svg = column_chart("c4", EVIL, [EVIL], [1])
    root = parse(svg)
    assert "<script" not in svg
    assert f"{EVIL}, {EVIL}: 1" in texts(root)


@pytest.mark.parametrize("svg", [
    hbar_chart("e1", "Nothing", []),
    hbar_chart("e2", "Zeros", [Bar("a", 0), Bar("b", 0)]),
    column_chart("e3", "No weeks", [], []),
    column_chart("e4", "Zero weeks", ["1 Jan", "8 Jan"], [0, 0]),
])
def test_empty_inputs_say_no_data(svg: str) -> None:
    root = parse(svg)
    assert_csp_safe(svg, root)
    assert_phone_readable(root)
    assert not bars(root)
    assert NO_DATA in texts(root)
    assert root.find(f"{NS}title").text


def test_no_data_message_and_id_are_sanitised() -> None:
    svg = no_data('x" onload="alert(1)', "T", message="Nobody stopped")
    root = parse(svg)
    assert "onload" not in root.attrib and root.get("id") == "x--onload--alert-1-"
    assert "Nobody stopped" in texts(root)
    done = hbar_chart("e", "T", [Bar("a", 0)], empty="All done")
    assert "All done" in texts(parse(done)) and NO_DATA not in done


def test_long_labels_are_clipped_but_titles_keep_them() -> None:
    label = "A very long source name that goes on and on for a while, longer than any phone is wide"
    root = parse(hbar_chart("c5", "t", [Bar(label, 1, "a long note that does not fit either")]))
    assert_phone_readable(root)
    shown = [t for t in texts(root) if t.startswith("A very")]
    assert any(t.endswith("…") and len(t) < len(label) for t in shown)
    assert f"{label}: 1 · a long note that does not fit either" in shown


def test_fractional_values_are_formatted() -> None:
    root = parse(hbar_chart("c6", "Hours", [Bar("Sam", 3.0), Bar("Alex", 12.25)]))
    assert "Sam: 3" in texts(root) and "Alex: 12.2" in texts(root)


def test_no_text_is_smaller_than_the_minimum() -> None:
    root = parse(hbar_chart("c9", "t", [Bar("a", 1)]))
    assert all(float(el.get("font-size")) >= MIN_FONT for el in root.iter(f"{NS}text"))


def test_the_interval_chart_draws_a_dot_and_a_line_per_rate_and_says_too_few():
    from coachapp.dashboard.interval_svg import Whisker, interval_chart

    svg = interval_chart("cal", "Client rate <by> tier", [Whisker("A1 · 65 leads", 0.369, 0.262, 0.491),
                                                           Whisker("B2 & co", 0.1, 0.05, 0.2), Whisker("C3", None)])
    assert svg.count("<circle") == 2 and "too few leads to say" in svg
    assert "&lt;by&gt;" in svg and "B2 &amp; co" in svg and "style=" not in svg
    assert "36.9% (26.2%–49.1%)" in svg and ">50%<" in svg  # the scale ends at the top bound, rounded up
    assert "Too few leads to draw" in interval_chart("e", "Empty", [Whisker("x", None)])
