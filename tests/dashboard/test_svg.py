"""The SVG chart functions: well-formed, accessible, escaped, CSP-safe, and to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from coachapp.dashboard.svg import NO_DATA, Bar, column_panels, hbar_chart, no_data

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & co'


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


def test_hbar_chart_is_well_formed_accessible_and_scaled() -> None:
    svg = hbar_chart("c1", "Leads by source", [Bar("google", 10), Bar("strava", 5, "2 clients"), Bar("direct", 0)])
    root = parse(svg)
    assert_csp_safe(svg, root)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{NS}title").text == "Leads by source"
    rects = bars(root)
    assert len(rects) == 3
    widths = [float(r.get("width")) for r in rects]
    full = 640 - 200 - (7 * len("5 · 2 clients") + 16)  # width - labels - room for the longest value text
    assert widths[0] == pytest.approx(full)
    assert widths[1] == pytest.approx(full / 2)
    assert widths[2] == 0
    assert "strava: 5 · 2 clients" in texts(root)
    value_texts = [el for el in root.iter(f"{NS}text") if el.get("x") and el.text and el.text[0].isdigit()]
    assert all(float(el.get("x")) + 7 * len(el.text) <= 640 for el in value_texts)


def test_labels_are_escaped_and_stay_inert() -> None:
    svg = hbar_chart("c2", f"Title {EVIL}", [Bar(EVIL, 3)], desc=EVIL)
    root = parse(svg)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg and "&amp; co" in svg
    assert not list(root.iter(f"{NS}script"))
    assert f"Title {EVIL}" in texts(root)  # the parsed text is the literal label
    assert f"{EVIL}: 3" in texts(root)


def test_column_panels_one_bar_per_category_and_panel_full_height() -> None:
    weeks = ["3 Nov", "10 Nov", "17 Nov"]
    svg = column_panels("c3", "Funnel by week", weeks, [("Started", [2, 4, 1]), ("Leads", [0, 1, 3])])
    root = parse(svg)
    assert_csp_safe(svg, root)
    rects = bars(root)
    assert len(rects) == 6
    heights = [float(r.get("height")) for r in rects]
    assert max(heights[:3]) == pytest.approx(90) == heights[1]  # each panel: its peak is full height
    assert heights[5] == pytest.approx(90) and heights[4] == pytest.approx(30) and heights[3] == 0
    assert "Leads, 17 Nov: 3" in texts(root)


def test_column_panels_escape_category_and_panel_names() -> None:
    svg = column_panels("c4", "t", [EVIL], [(EVIL, [1])])
    root = parse(svg)
    assert "<script" not in svg
    assert f"{EVIL}, {EVIL}: 1" in texts(root)


@pytest.mark.parametrize("svg", [
    hbar_chart("e1", "Nothing", []),
    hbar_chart("e2", "Zeros", [Bar("a", 0), Bar("b", 0)]),
    column_panels("e3", "No weeks", [], [("Started", [])]),
    column_panels("e4", "Zero weeks", ["1 Jan", "8 Jan"], [("Started", [0, 0])]),
    column_panels("e5", "No panels", ["1 Jan"], []),
])
def test_empty_inputs_say_no_data(svg: str) -> None:
    root = parse(svg)
    assert_csp_safe(svg, root)
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
    label = "A very long source name that goes on and on for a while"
    root = parse(hbar_chart("c5", "t", [Bar(label, 1)]))
    shown = [t for t in texts(root) if t.startswith("A very")]
    assert any(t.endswith("…") and len(t) < len(label) for t in shown)
    assert f"{label}: 1" in shown


def test_fractional_values_are_formatted() -> None:
    root = parse(hbar_chart("c6", "Hours", [Bar("Sam", 3.0), Bar("Alex", 12.25)]))
    assert "Sam: 3" in texts(root) and "Alex: 12.2" in texts(root)
