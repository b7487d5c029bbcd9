"""The retake chart (coachapp/progress_chart.py): valid XML, one line per side, labelled, for
1, 2 and 5 attempts, numbers and choices alike."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from coachapp.assessment import load_rules
from coachapp.assessment.progress import Attempt, compare
from coachapp.progress_chart import chart
from tests.assessment.helpers import RULES_DIR

NS = {"s": "http://www.w3.org/2000/svg"}
OK = {"safety": {"level": "ok"}, "priorities": [], "flags": [], "regions": []}


@pytest.fixture(scope="module")
def rules():
    return load_rules(RULES_DIR)


def _entry(rules, attempts: list[dict], test_id: str) -> dict:
    dated = [Attempt(f"2026-{i + 1:02d}-15", a, OK) for i, a in enumerate(attempts)]
    if len(dated) == 1:  # one attempt: the chart draws its single point (compare needs two)
        dated = [Attempt("2026-01-01", {}, OK), *dated]
        entry = next(t for t in compare(rules.assessment, dated)["tests"] if t["id"] == test_id)
        return {**entry, "history": entry["history"][-1:]}
    return next(t for t in compare(rules.assessment, dated)["tests"] if t["id"] == test_id)


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # valid XML, or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby").split()
    assert [root.find("s:title", NS).get("id"), root.find("s:desc", NS).get("id")] == ids
    assert "style" not in svg  # presentation attributes only (the CSP)
    return root


@pytest.mark.parametrize("count", [1, 2, 5])
def test_knee_to_wall_chart(rules, count):
    attempts = [{"ktw_left_cm": 7 + i, "ktw_right_cm": 9 + i / 2} for i in range(count)]
    svg = chart(_entry(rules, attempts, "knee_to_wall"), "c-ktw")
    root = _parse(svg)
    for side in ("left", "right"):
        groups = root.findall(f".//s:g[@class='side side-{side}']", NS)
        assert len(groups) == 1  # one line per side
        lines = groups[0].findall("s:polyline", NS)
        assert len(lines) == 1 and len(lines[0].get("points").split()) == count
        assert len(groups[0].findall("s:circle", NS)) == count  # a dot (with its <title>) per attempt
        assert groups[0].find("s:text", NS).text == side.capitalize()  # labelled, not colour alone
    assert root.findall(".//s:g[@class='side side-right']/s:polyline", NS)[0].get("stroke-dasharray")
    assert root.find(".//s:rect[@class='normal-band']", NS) is not None  # the normal band, shaded
    desc = root.find("s:desc", NS).text
    assert desc.count("left") == count and f"{count} attempt" in desc
    assert all(int(t.get("font-size")) >= 13 for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert root.get("viewBox") == "0 0 320 190" and root.get("width") == "100%"


def test_a_side_measured_once_still_draws(rules):
    entry = _entry(rules, [{"ktw_left_cm": 8}, {"ktw_left_cm": 9, "ktw_right_cm": 10}], "knee_to_wall")
    root = _parse(chart(entry, "c"))
    assert len(root.find(".//s:g[@class='side side-right']/s:polyline", NS).get("points").split()) == 1
    assert "not measured" in root.find("s:desc", NS).text


def test_ordinal_chart_labels_choices(rules):
    entry = _entry(rules, [{"trot_left": "well_short", "trot_right": "on_line"},
                           {"trot_left": "short_hand_width", "trot_right": "past_line"}], "seated_thoracic_rotation")
    svg = chart(entry, "c-trot")
    root = _parse(svg)
    assert "Well short of the line" in root.find("s:desc", NS).text
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Right, 15 Feb 26: Past the 45° tape line" in titles
    # best at the top: the right side's last point (past the line) sits higher than its first
    points = root.find(".//s:g[@class='side side-right']/s:polyline", NS).get("points").split()
    assert float(points[1].split(",")[1]) < float(points[0].split(",")[1])


def test_labels_are_escaped(rules):
    entry = _entry(rules, [{"ktw_left_cm": 8}, {"ktw_left_cm": 9}], "knee_to_wall")
    svg = chart({**entry, "title": "<script>&"}, 'x"><script>')
    _parse(svg)
    assert "<script>" not in svg
