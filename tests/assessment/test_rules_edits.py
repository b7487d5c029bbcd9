"""The editor's pure parts (issue 15.2): targeted YAML edits keep comments and layout and go
through the real loader; a question moves within its section; loader problems land on the
field they name; email copy checks its variables and renders Markdown safely."""

from __future__ import annotations

import difflib

import pytest

from coachapp.assessment import RulesError, load_rules_from_texts, read_texts
from coachapp.rules_versions import copy_text, edits
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def texts():
    errors: list[str] = []
    found = read_texts(ROOT / "rules", errors)
    assert not errors
    return found


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_an_edit_changes_only_its_value_and_keeps_comments(texts):
    new, errors = edits.apply(texts, "questions", {"q.sex.options.female": 'Woman "W"', "q.sex.text": "Sex"})
    assert errors == {}
    assert changed_lines(texts[edits.ASSESSMENT], new[edits.ASSESSMENT]) == [
        '-          - {value: female, label: "Female"}', '+          - {value: female, label: "Woman \\"W\\""}']
    rules = load_rules_from_texts(new)
    assert rules.assessment.question("sex").options[0].label == 'Woman "W"'
    assert new[edits.SEQUENCES] is texts[edits.SEQUENCES]


def test_numbers_windows_and_tier_actions(texts):
    new, errors = edits.apply(texts, "priority", {"p.eng.replied": "30", "t.B3.action": "Send the newsletter.",
                                                  "b.intent_bands.1.gte": "x"})
    assert errors == {"b.intent_bands.1.gte": "Enter a whole number."}
    assert changed_lines(texts[edits.PRIORITY], new[edits.PRIORITY]) == [
        "-      points: 25", "+      points: 30",
        '-    action: "No call needed yet: they get the newsletter and monthly tips; answer personally if they '
        'write back."', '+    action: "Send the newsletter."']
    load_rules_from_texts(new)
    new, errors = edits.apply(texts, "sequences", {"w.every_day.end": "22:00", "w.every_day.days": "mon, funday"})
    assert errors == {"w.every_day.days": "List days as mon, tue, wed, thu, fri, sat, sun, separated by commas."}
    assert 'end: "22:00"' in new[edits.SEQUENCES]


def test_problems_land_on_the_field_they_name(texts):
    new, _ = edits.apply(texts, "questions", {"q.age_band.options.18-29": ""})
    with pytest.raises(RulesError) as info:
        load_rules_from_texts(new)
    placed, rest = edits.place(info.value.errors, edits.fields(new, "questions"))
    assert list(placed) == ["q.age_band.options.18-29"] and rest == []


def test_a_question_moves_and_the_loader_checks_the_conditions(texts):
    moved = edits.move_question(texts, "desk_hours", "down")
    lines = moved[edits.ASSESSMENT]
    assert lines.index("- id: strength_sessions_per_week") < lines.index("- id: desk_hours")
    assert sorted(lines.splitlines()) == sorted(texts[edits.ASSESSMENT].splitlines())
    load_rules_from_texts(moved)
    with pytest.raises(RulesError) as info:
        load_rules_from_texts(edits.move_question(texts, "injury_areas", "up"))
    assert any("injury_areas" in e for e in info.value.errors)
    with pytest.raises(edits.EditError, match="already last"):
        edits.move_question(texts, "hm_5pq", "down")
    last = edits.move_question(texts, "hm_5pq", "up")  # the last of a section, with a blank line after it
    load_rules_from_texts(last)
    assert "\n\n  - id: safety" in last[edits.ASSESSMENT]


def test_email_copy_names_unknown_variables_per_field():
    assert copy_text.check("assessment_plan", "{{ first_name }}'s plan", "Hi {{first_name}}") == {}
    problems = copy_text.check("assessment_plan", "{{ shoe }}", "Hi {{ assessment_url }}")
    assert problems == {
        "subject": ["Unknown variable {{ shoe }} (use first_name, business_name, top_priority, results_url, "
                    "strategy_url)."],
        "body": ["Unknown variable {{ assessment_url }} (use first_name, business_name, top_priority, "
                 "results_url, strategy_url)."]}
    assert "subject" in copy_text.check("assessment_plan", "", "body only")
    assert copy_text.problems({"assessment_plan": {"subject": "x", "body": "{{ nope }}"}}) == [
        "email assessment_plan body: Unknown variable {{ nope }} (use first_name, business_name, top_priority, "
        "results_url, strategy_url)."]


def test_markdown_is_a_safe_subset_and_values_are_escaped():
    values = {"first_name": '<img src=x onerror="alert(1)">', "business_name": "Motive", "top_priority": "hips",
              "results_url": "https://motive.example/r/abc?x=1&y=2", "strategy_url": ""}
    out = copy_text.render({"subject": "{{ first_name }} & {{ top_priority }}",
                            "body": "Hi **{{ first_name }}** <b>raw</b>\n\n[Results]({{ results_url }})\n\n"
                                    "# Not a heading\n\n[x](javascript:alert(1))"}, values)
    assert out.subject == '<img src=x onerror="alert(1)"> & hips'  # plain text: a header, never HTML
    assert "<strong>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</strong>" in out.html
    assert "&lt;b&gt;raw&lt;/b&gt;" in out.html and "<h1>" not in out.html
    assert '<a href="https://motive.example/r/abc?x=1&amp;y=2">Results</a>' in out.html
    assert 'href="javascript' not in out.html
    assert "Results (https://motive.example/r/abc?x=1&y=2)" in out.text and "Hi <img" in out.text


def test_help_is_added_after_the_text_or_removed_when_cleared(texts):
    new, errors = edits.apply(texts, "questions", {"q.age_band.help": "Pick your band.", "q.sex.help": " ",
                                                   "q.ktw_left_cm.help": "Measure twice."})
    assert errors == {}
    assert changed_lines(texts[edits.ASSESSMENT], new[edits.ASSESSMENT])[:2] == [
        '+        help: "Pick your band."',
        '-        help: "Only used to ask the right health question and to compare calf results with the right '
        'norms."']
    assert 'toe-to-wall distance", help: "Measure twice.", min: 0' in new[edits.ASSESSMENT]  # a flow mapping
    assessment = load_rules_from_texts(new).assessment
    assert assessment.question("age_band").help == "Pick your band." and assessment.question("sex").help is None
    assert assessment.question("ktw_left_cm").help == "Measure twice."
    back, _ = edits.apply(new, "questions", {"q.ktw_left_cm.help": ""})
    def line(text: str) -> str:
        return next(x for x in text.splitlines() if "id: ktw_left_cm" in x)

    assert line(back[edits.ASSESSMENT]) == line(texts[edits.ASSESSMENT])  # exactly as it was


def test_each_email_gets_its_variables_from_the_templates_context():
    context = {"first_name": "", "result": {"priorities": [{"label": "Hip mobility"}, {"label": "Calf strength"}]},
               "results_url": "https://r.example", "business_name": "Motive", "unsubscribe_url": "https://u.example"}
    assert copy_text.values("nurture_second_priority", context) == {
        "first_name": "there", "business_name": "Motive", "results_url": "https://r.example",
        "second_priority": "calf strength"}
    assert copy_text.values("nurture_drill_top_priority", {**context, "result": {"priorities": []}})[
        "top_priority"] == "mobility"
    assert set(copy_text.EMAILS) == {"assessment_plan", "nurture_drill_top_priority", "nurture_second_priority",
                                     "nurture_case_story", "nurture_strategy_invite", "nurture_retake_invite"}
