"""The pure text rules the edge and the services share."""

from __future__ import annotations

from coachapp.textclean import (
    clean_mapping,
    clean_name,
    has_controls,
    json_depth_exceeds,
    json_strings,
    strip_controls,
)


def test_free_text_keeps_its_lines_and_one_line_values_do_not():
    text = "a\x00b\tc\r\nd\x1b\x7f\x85e\ud800"
    assert strip_controls(text, multiline=True) == "ab\tc\r\nde"
    assert strip_controls(text) == "abcde"
    assert has_controls("tab\there") and not has_controls("tab\there", multiline=True)
    assert not has_controls("Zoë 李 🏃 \u2028")


def test_names_are_one_clean_line():
    assert clean_name("  \x00Da\x07na \t\n  Lee\x7f ") == "Dana Lee"
    assert clean_name("\x00\x01") == ""
    assert clean_name(None) is None
    assert len(clean_name("x" * 200)) == 80


def test_first_touch_values_are_cleaned_and_cut():
    assert clean_mapping({"utm_source": "ads\x00", "at": "2026-01-01", "n": 3, "x": "y" * 600}) == {
        "utm_source": "ads", "at": "2026-01-01", "n": 3, "x": "y" * 500}


def test_json_depth_and_strings():
    nested: object = "leaf"
    for _ in range(32):
        nested = [nested]
    assert not json_depth_exceeds(nested) and json_depth_exceeds([nested])  # 32 levels read, 33 refused
    assert not json_depth_exceeds("scalar") and not json_depth_exceeds({})
    found = dict(json_strings({"contact": {"first_name": "Dana", "bad\x00key": 1}, "answers": {"x": ["a", "b"]}}))
    assert found["contact.first_name"] == "Dana"
    assert found["contact.bad\\x00key"] == "bad\x00key"  # the key itself, reported with its escape
    assert found["answers.x[1]"] == "b"
