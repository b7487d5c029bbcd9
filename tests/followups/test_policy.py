"""Planning the real sequences and checking their stop rules, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coachapp.assessment import Rules, load_rules
from coachapp.followups.policy import (
    TRIGGERS,
    PlannedStep,
    Sequence,
    SequenceRules,
    Step,
    plan,
    sequence_by_id,
    sequences_for,
    step_applies,
    step_by_id,
    stop_reason,
    stop_rule,
)
from coachapp.leads.worktime import WorkingHours, parse_working_hours

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
LA, LONDON, CHICAGO = ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/London"), ZoneInfo("America/Chicago")

#: A lead who finished the assessment with two priorities, consented, and nothing else happened.
NURTURE_FACTS: dict[str, Any] = {
    "stage": "new", "replied": False, "bounced": False, "red_flag": False, "erased": False,
    "unsubscribed_all": False, "unsubscribed_sales": False, "marketing_consent": True, "contacted": False,
    "has_priorities": True, "priority_count": 2, "assessment_completed": True, "strategy_requested": False,
    "clinician_email_sent": False,
}


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES_DIR)


@pytest.fixture(scope="module")
def seqs(rules: Rules) -> SequenceRules:
    return rules.sequences


@pytest.fixture
def coach_hours() -> WorkingHours:
    return parse_working_hours({d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, "America/Chicago")


def get(seqs: SequenceRules, sequence_id: str) -> Sequence:
    found = sequence_by_id(seqs, sequence_id)
    assert found is not None, sequence_id
    return found


def get_step(sequence: Sequence, step_id: str) -> Step:
    found = step_by_id(sequence, step_id)
    assert found is not None, step_id
    return found


def facts(**changes: Any) -> dict[str, Any]:
    return {**NURTURE_FACTS, **changes}


def local_times(steps: list[PlannedStep], tz: ZoneInfo) -> list[tuple[str, str]]:
    return [(s.step_id, s.due_at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")) for s in steps]


def test_each_trigger_starts_its_sequence(seqs: SequenceRules) -> None:
    assert {t: [s.id for s in sequences_for(seqs, t)] for t in TRIGGERS} == {
        "assessment_completed": ["assessment_nurture"],
        "strategy_requested": ["strategy_requested"],
        "stage_no_show": ["no_show"],
        "red_flag": ["red_flag"],
    }
    with pytest.raises(ValueError, match="unknown trigger 'stage_client'"):
        sequences_for(seqs, "stage_client")


def test_nurture_from_a_friday_evening_in_los_angeles(seqs: SequenceRules) -> None:
    enrolled = datetime(2026, 11, 20, 21, 0, tzinfo=LA)  # Friday 21:00, after the window
    steps = plan(get(seqs, "assessment_nurture"), enrolled_at=enrolled, tz="America/Los_Angeles", facts=facts())
    assert all(s.due_at.tzinfo is UTC for s in steps)
    assert local_times(steps, LA) == [
        ("drill_top_priority", "Tue 2026-11-24 08:00"),  # day 3 = Monday 21:00 -> next morning
        ("second_priority", "Mon 2026-11-30 08:00"),  # day 7 = Friday 21:00 -> Monday
        ("strategy_invite", "Mon 2026-12-07 08:00"),  # two weeks = Friday 21:00 -> Monday
        ("retake_invite", "Mon 2027-01-04 08:00"),  # six weeks = Friday 21:00 -> Monday
    ]
    assert [s.template for s in steps] == [
        "nurture_drill_top_priority", "nurture_second_priority", "nurture_strategy_invite", "nurture_retake_invite",
    ]


def test_nurture_inside_the_window_keeps_the_time_of_day(seqs: SequenceRules) -> None:
    enrolled = datetime(2026, 11, 17, 12, 15, tzinfo=LA)  # Tuesday lunchtime
    steps = plan(get(seqs, "assessment_nurture"), enrolled_at=enrolled, tz="America/Los_Angeles", facts=facts())
    assert local_times(steps, LA) == [
        ("drill_top_priority", "Fri 2026-11-20 12:15"),
        ("second_priority", "Tue 2026-11-24 12:15"),
        ("strategy_invite", "Tue 2026-12-01 12:15"),
        ("retake_invite", "Tue 2026-12-29 12:15"),
    ]


def test_london_and_chicago_leads_enrolled_at_the_same_instant(seqs: SequenceRules) -> None:
    enrolled = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # Friday: 21:30 in London, 15:30 in Chicago
    nurture = get(seqs, "assessment_nurture")
    london = plan(nurture, enrolled_at=enrolled, tz="Europe/London", facts=facts())
    chicago = plan(nurture, enrolled_at=enrolled, tz="America/Chicago", facts=facts())
    assert local_times(london, LONDON)[0] == ("drill_top_priority", "Tue 2026-11-24 08:00")
    assert local_times(chicago, CHICAGO)[0] == ("drill_top_priority", "Mon 2026-11-23 15:30")
    assert london[0].due_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert chicago[0].due_at == datetime(2026, 11, 23, 21, 30, tzinfo=UTC)


def test_calendar_days_across_the_spring_forward_keep_the_local_time(seqs: SequenceRules) -> None:
    enrolled = datetime(2026, 3, 5, 10, 0, tzinfo=CHICAGO)  # Thursday, CST
    steps = plan(get(seqs, "assessment_nurture"), enrolled_at=enrolled, tz="America/Chicago", facts=facts())
    assert local_times(steps, CHICAGO)[:2] == [
        ("drill_top_priority", "Mon 2026-03-09 08:00"),  # day 3 is the DST Sunday -> Monday 08:00 CDT
        ("second_priority", "Thu 2026-03-12 10:00"),  # still 10:00 local after the change
    ]
    assert steps[1].due_at == datetime(2026, 3, 12, 15, 0, tzinfo=UTC)


def test_no_priorities_means_no_drill_emails_but_a_case_story(seqs: SequenceRules) -> None:
    nurture = get(seqs, "assessment_nurture")
    enrolled = datetime(2026, 11, 17, 12, 0, tzinfo=LA)
    none = plan(nurture, enrolled_at=enrolled, tz="America/Los_Angeles",
                facts=facts(has_priorities=False, priority_count=0))
    assert [s.step_id for s in none] == ["case_story", "strategy_invite", "retake_invite"]
    one = plan(nurture, enrolled_at=enrolled, tz="America/Los_Angeles", facts=facts(priority_count=1))
    assert [s.step_id for s in one] == ["drill_top_priority", "case_story", "strategy_invite", "retake_invite"]
    unknown = {k: v for k, v in facts().items() if k not in ("has_priorities", "priority_count")}
    assert [s.step_id for s in plan(nurture, enrolled_at=enrolled, tz="UTC", facts=unknown)][0] == "case_story"


def test_step_applies_reads_the_current_facts(seqs: SequenceRules) -> None:
    nurture = get(seqs, "assessment_nurture")
    assert step_applies(get_step(nurture, "second_priority"), facts(priority_count=2))
    assert not step_applies(get_step(nurture, "second_priority"), facts(priority_count=1))
    assert step_applies(get_step(nurture, "strategy_invite"), {})  # no condition
    assert step_by_id(nurture, "nope") is None


def test_steps_keep_their_order_and_never_share_an_instant(seqs: SequenceRules, coach_hours: WorkingHours) -> None:
    start = datetime(2026, 11, 13, 20, 0, tzinfo=UTC)
    for seq in seqs.sequences:
        steps = plan(seq, enrolled_at=start, tz="America/Chicago", facts=facts(), coach_hours=coach_hours)
        dues = [s.due_at for s in steps]
        assert dues == sorted(dues) and len(set(dues)) == len(dues), seq.id
        assert [s.step_id for s in steps] == [s.id for s in seq.steps if step_applies(s, facts())], seq.id


def test_coach_reminders_land_in_the_coach_working_hours(seqs: SequenceRules, coach_hours: WorkingHours) -> None:
    requested = datetime(2026, 11, 20, 18, 0, tzinfo=CHICAGO)  # Friday after hours
    reminders = get(seqs, "strategy_requested")
    steps = plan(reminders, enrolled_at=requested, tz="Europe/London", facts=facts(), coach_hours=coach_hours)
    assert local_times(steps, CHICAGO) == [
        ("reminder_same_day", "Mon 2026-11-23 09:00"),  # +4 h = Friday 22:00 -> Monday opening
        ("reminder_next_day", "Mon 2026-11-23 11:00"),  # Saturday 18:00 -> Monday, 2 h after the last
        ("reminder_final", "Tue 2026-11-24 09:00"),  # Monday 18:00 -> Tuesday opening
    ]
    assert {s.template for s in steps} == {"coach_strategy_reminder"}
    for step in steps:
        moment = step.due_at.astimezone(CHICAGO)
        assert moment.weekday() < 5 and 9 <= moment.hour < 17
    # The lead's zone plays no part for coach reminders.
    again = plan(reminders, enrolled_at=requested, tz="Pacific/Auckland", facts=facts(), coach_hours=coach_hours)
    assert again == steps
    with pytest.raises(ValueError, match="pass coach_hours"):
        plan(reminders, enrolled_at=requested, tz="America/Chicago", facts=facts())


def test_coach_days_off_are_skipped(seqs: SequenceRules) -> None:
    hours = parse_working_hours({"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]}, "America/Chicago",
                                days_off=["2026-11-23"])
    requested = datetime(2026, 11, 20, 18, 0, tzinfo=CHICAGO)
    steps = plan(get(seqs, "strategy_requested"), enrolled_at=requested, tz="UTC", facts=facts(),
                 coach_hours=hours)
    assert local_times(steps, CHICAGO)[0] == ("reminder_same_day", "Tue 2026-11-24 09:00")


def test_no_show_rebooking_email(seqs: SequenceRules) -> None:
    marked = datetime(2026, 11, 18, 19, 0, tzinfo=LONDON)  # Wednesday 19:00: +2 h is after 20:00
    steps = plan(get(seqs, "no_show"), enrolled_at=marked, tz="Europe/London", facts=facts(stage="no_show"))
    assert local_times(steps, LONDON) == [("rebook", "Thu 2026-11-19 08:00")]
    assert steps[0].template == "no_show_rebook"


def test_red_flag_email_only_when_the_assessment_did_not_send_it(seqs: SequenceRules) -> None:
    red = get(seqs, "red_flag")
    saturday_night = datetime(2026, 11, 21, 23, 0, tzinfo=CHICAGO)
    steps = plan(red, enrolled_at=saturday_night, tz="America/Chicago", facts=facts(red_flag=True))
    assert local_times(steps, CHICAGO) == [("see_clinician", "Sun 2026-11-22 07:00")]  # every day, not at night
    assert steps[0].template == "red_flag_clinician"
    already = facts(red_flag=True, clinician_email_sent=True)
    assert plan(red, enrolled_at=saturday_night, tz="America/Chicago", facts=already) == []
    unknown = {k: v for k, v in facts(red_flag=True).items() if k != "clinician_email_sent"}
    assert len(plan(red, enrolled_at=saturday_night, tz="America/Chicago", facts=unknown)) == 1


def test_replanning_skips_sent_steps_and_never_schedules_in_the_past(seqs: SequenceRules) -> None:
    nurture = get(seqs, "assessment_nurture")
    enrolled = datetime(2026, 11, 17, 12, 0, tzinfo=LA)  # Tuesday
    sent_at = datetime(2026, 11, 20, 12, 0, tzinfo=LA)  # the drill went out on Friday
    now = datetime(2026, 11, 25, 9, 0, tzinfo=LA)  # Wednesday: a new submission, one priority now
    steps = plan(nurture, enrolled_at=enrolled, tz="America/Los_Angeles", facts=facts(priority_count=1),
                 sent={"drill_top_priority": sent_at}, not_before=now)
    assert local_times(steps, LA) == [
        ("case_story", "Wed 2026-11-25 09:00"),  # day 7 (Tuesday) has passed -> now
        ("strategy_invite", "Tue 2026-12-01 12:00"),
        ("retake_invite", "Tue 2026-12-29 12:00"),
    ]
    close = plan(nurture, enrolled_at=enrolled, tz="America/Los_Angeles", facts=facts(),
                 sent={"drill_top_priority": datetime(2026, 11, 24, 11, 0, tzinfo=LA)})
    assert local_times(close, LA)[0] == ("second_priority", "Wed 2026-11-25 11:00")  # min_gap: one day after


def test_bad_input_raises_value_error(seqs: SequenceRules) -> None:
    nurture = get(seqs, "assessment_nurture")
    aware = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown time zone"):
        plan(nurture, enrolled_at=aware, tz="Not/AZone", facts=facts())
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(nurture, enrolled_at=datetime(2026, 11, 17, 12, 0), tz="UTC", facts=facts())
    with pytest.raises(ValueError, match="unknown fact 'unsubscribed'"):
        plan(nurture, enrolled_at=aware, tz="UTC", facts=facts(unsubscribed=True))
    with pytest.raises(ValueError, match="fact 'replied' must be bool"):
        stop_reason(seqs, nurture, facts(replied="yes"))
    assert sequence_by_id(seqs, "gone") is None


# --- stop rules ------------------------------------------------------------------------------

REASONS = {
    "erased": "Personal data erased on request.",
    "unsubscribed": "Unsubscribed from all emails.",
    "bounced": "Their email address bounced.",
    "unsubscribed_sales": "Unsubscribed from tips and sales emails.",
    "no_consent": "No consent to marketing emails.",
    "red_flag": "Red flag: clinician first, so no sales follow-ups.",
    "client": "Became a client.",
    "lost": "Marked as lost.",
    "booked": "Booked a strategy session.",
    "no_show": "Missed the booked session; the no-show follow-up takes over.",
    "left_no_show": "No longer marked as a no-show.",
    "replied": "Replied, so a coach continues personally.",
    "strategy_requested": "Asked for a free strategy session; a coach follows up personally.",
    "contacted": "A coach has contacted them.",
}


def test_the_reasons_are_the_ones_in_the_file(seqs: SequenceRules) -> None:
    assert {i: r.reason for i, r in seqs.stop_rules.items()} == REASONS


@pytest.mark.parametrize(
    ("sequence_id", "base"),
    [
        ("assessment_nurture", {}),
        ("strategy_requested", {"strategy_requested": True}),
        ("no_show", {"stage": "no_show"}),
        ("red_flag", {"red_flag": True}),
    ],
)
def test_a_clean_lead_goes_ahead(seqs: SequenceRules, sequence_id: str, base: dict[str, Any]) -> None:
    assert stop_reason(seqs, get(seqs, sequence_id), facts(**base)) is None


@pytest.mark.parametrize(
    ("change", "rule_id"),
    [
        ({"unsubscribed_all": True}, "unsubscribed"),
        ({"unsubscribed_sales": True}, "unsubscribed_sales"),
        ({"stage": "session_booked"}, "booked"),
        ({"stage": "session_held"}, "booked"),
        ({"stage": "client"}, "client"),
        ({"stage": "lost"}, "lost"),
        ({"stage": "no_show"}, "no_show"),
        ({"replied": True}, "replied"),
        ({"bounced": True}, "bounced"),
        ({"red_flag": True}, "red_flag"),
        ({"erased": True}, "erased"),
        ({"marketing_consent": False}, "no_consent"),
        ({"marketing_consent": None}, "no_consent"),  # unknown consent is no consent
        ({"strategy_requested": True}, "strategy_requested"),
    ],
)
def test_each_stop_rule_stops_the_nurture_with_its_reason(
    seqs: SequenceRules, change: dict[str, Any], rule_id: str
) -> None:
    nurture = get(seqs, "assessment_nurture")
    assert stop_reason(seqs, nurture, facts(**change)) == REASONS[rule_id]
    fired = stop_rule(seqs, nurture, facts(**change))
    assert fired is not None and fired.id == rule_id


def test_the_first_rule_in_file_order_gives_the_reason(seqs: SequenceRules) -> None:
    nurture = get(seqs, "assessment_nurture")
    everything = facts(erased=True, unsubscribed_all=True, stage="lost", replied=True)
    assert stop_reason(seqs, nurture, everything) == REASONS["erased"]
    assert stop_reason(seqs, nurture, facts(stage="client", replied=True)) == REASONS["client"]


def test_sales_unsubscribe_does_not_block_the_clinician_email(seqs: SequenceRules) -> None:
    red = get(seqs, "red_flag")
    sales_only = facts(red_flag=True, unsubscribed_sales=True, marketing_consent=False, stage="lost")
    assert stop_reason(seqs, red, sales_only) is None
    assert stop_reason(seqs, red, facts(red_flag=True, unsubscribed_all=True)) == REASONS["unsubscribed"]
    assert stop_reason(seqs, red, facts(red_flag=True, bounced=True)) == REASONS["bounced"]
    assert stop_reason(seqs, red, facts(red_flag=True, erased=True)) == REASONS["erased"]


def test_red_flag_stops_sales_follow_ups(seqs: SequenceRules) -> None:
    for sequence_id, base in (("assessment_nurture", {}), ("no_show", {"stage": "no_show"})):
        assert stop_reason(seqs, get(seqs, sequence_id), facts(red_flag=True, **base)) == REASONS["red_flag"]


def test_no_show_rebooking_stops_when_the_stage_moves_on(seqs: SequenceRules) -> None:
    no_show = get(seqs, "no_show")
    assert stop_reason(seqs, no_show, facts(stage="session_booked")) == REASONS["booked"]
    assert stop_reason(seqs, no_show, facts(stage="nurture")) == REASONS["left_no_show"]
    assert stop_reason(seqs, no_show, facts(stage="no_show", unsubscribed_sales=True)) == REASONS["unsubscribed_sales"]
    # not marketing: no consent needed for a note about their own booking
    assert stop_reason(seqs, no_show, facts(stage="no_show", marketing_consent=False)) is None


@pytest.mark.parametrize(
    ("change", "rule_id"),
    [
        ({"contacted": True}, "contacted"),
        ({"stage": "contacted"}, "contacted"),
        ({"stage": "nurture"}, "contacted"),
        ({"stage": "session_booked"}, "booked"),
        ({"stage": "client"}, "client"),
        ({"stage": "lost"}, "lost"),
        ({"erased": True}, "erased"),
    ],
)
def test_coach_reminders_stop_once_someone_made_contact(
    seqs: SequenceRules, change: dict[str, Any], rule_id: str
) -> None:
    reminders = get(seqs, "strategy_requested")
    assert stop_reason(seqs, reminders, facts(strategy_requested=True, **change)) == REASONS[rule_id]


def test_coach_reminders_ignore_the_prospects_email_preferences(seqs: SequenceRules) -> None:
    reminders = get(seqs, "strategy_requested")
    prefs = facts(unsubscribed_all=True, unsubscribed_sales=True, marketing_consent=False, bounced=True)
    assert stop_reason(seqs, reminders, prefs) is None


def test_marketing_flags_and_audiences(seqs: SequenceRules) -> None:
    by_id: dict[str, Sequence] = {s.id: s for s in seqs.sequences}
    assert {i: (s.audience, s.marketing) for i, s in by_id.items()} == {
        "assessment_nurture": ("prospect", True),
        "strategy_requested": ("coach", False),
        "no_show": ("prospect", False),
        "red_flag": ("prospect", False),
    }
    assert by_id["strategy_requested"].window is None
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert by_id["assessment_nurture"].min_gap.after(start, LA) - start == timedelta(days=1)
