"""Follow-up sequences from ``rules/sequences.yaml``: load, plan the steps, check stop rules.

Pure: no Flask, database or clock (``enrolled_at`` is passed in). A trigger starts sequences;
``plan`` gives each step that applies a due time: enrolment + delay (``weeks``/``days`` are
calendar days in the zone, same local time; ``hours``/``minutes`` elapsed time), moved into
the send window (wall-clock times in the lead's zone, or the coach's working hours for coach
reminders). Before each send the caller re-checks ``stop_reason`` and ``step_applies``. Facts
are the flat mapping typed by ``FACT_TYPES``; a missing fact makes every comparison false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from coachapp.assessment._schema import Issues, Node, check_unique, file_header
from coachapp.assessment.conditions import Condition, RefType, compile_condition
from coachapp.leads.priority import STAGES, clean_facts
from coachapp.leads.worktime import DAYS, WorkingHours, next_working_moment, parse_working_hours

TRIGGERS = ("assessment_completed", "strategy_requested", "stage_no_show", "red_flag")
AUDIENCES = ("prospect", "coach")
COACH_HOURS = "coach_hours"  # the window value meaning "the coach's working hours"
DELAY_UNITS = ("weeks", "days", "hours", "minutes")
#: Stop rules a sequence must list: every sequence, prospect-facing ones, marketing ones.
REQUIRED_STOPS = {"all": ("erased",), "prospect": ("unsubscribed",), "marketing": ("unsubscribed_sales", "no_consent")}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

FACT_TYPES: Mapping[str, RefType] = MappingProxyType({
    "stage": RefType("choice", frozenset(STAGES)),
    "priority_count": RefType("number"),
    **{k: RefType("bool") for k in (
        "replied", "bounced", "red_flag", "erased", "unsubscribed_all", "unsubscribed_sales", "marketing_consent",
        "contacted", "has_priorities", "assessment_completed", "strategy_requested", "clinician_email_sent")},
})


@dataclass(frozen=True, slots=True)
class Delay:
    """``days`` of calendar time in the local zone, then ``minutes`` of elapsed time."""

    days: int = 0
    minutes: int = 0

    def after(self, start: datetime, tz: ZoneInfo) -> datetime:
        """``start`` + this delay, as aware UTC (a skipped local time maps to after the gap)."""
        moment = start.astimezone(UTC)
        if self.days:
            wall = start.astimezone(tz).replace(tzinfo=None) + timedelta(days=self.days)
            moment = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        return moment + timedelta(minutes=self.minutes)

    def total_minutes(self) -> int:
        return self.days * 1440 + self.minutes


DEFAULT_GAP = Delay(minutes=60)  # for sequences without min_gap


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly send window: ``days`` (mon…sun) from ``start`` to ``end`` ("HH:MM", local)."""

    days: tuple[str, ...]
    start: str = "08:00"
    end: str = "20:00"

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", tuple(self.days))
        if not self.days or any(d not in DAYS or self.days.count(d) > 1 for d in self.days):
            raise ValueError(f"days must list one or more of {', '.join(DAYS)} once each, got {list(self.days)}")
        self.hours("UTC")  # validates the times: HH:MM, start before end

    def hours(self, tz: str) -> WorkingHours:
        """This window as WorkingHours in ``tz``; ValueError on an unknown time zone."""
        return _hours(self.days, self.start, self.end, tz)


@lru_cache(maxsize=256)
def _hours(days: tuple[str, ...], start: str, end: str, tz: str) -> WorkingHours:
    return parse_working_hours({d: [f"{start}-{end}"] for d in days}, tz)


@dataclass(frozen=True, slots=True)
class StopRule:
    id: str
    when: Condition
    reason: str


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    delay: Delay
    template: str
    when: Condition | None = None


@dataclass(frozen=True, slots=True)
class Sequence:
    """``window`` is None for coach reminders (they use the coach's working hours)."""

    id: str
    trigger: str
    audience: str
    marketing: bool
    window: Window | None
    stop: tuple[str, ...]  # stop rule ids, in stop_rules file order
    steps: tuple[Step, ...]
    min_gap: Delay = DEFAULT_GAP
    description: str = ""
    name: str = ""  # what a coach calls it, e.g. "After the assessment"

    @property
    def title(self) -> str:
        return self.name or self.id.replace("_", " ").capitalize()


@dataclass(frozen=True)
class SequenceRules:
    windows: Mapping[str, Window]
    stop_rules: Mapping[str, StopRule]  # file order decides which reason is given
    templates: Mapping[str, str]  # template name -> what the email says
    sequences: tuple[Sequence, ...]


@dataclass(frozen=True, slots=True)
class PlannedStep:
    step_id: str
    template: str
    due_at: datetime  # aware, UTC


def sequences_for(rules: SequenceRules, trigger: str) -> list[Sequence]:
    """The sequences started by ``trigger``, in file order; ValueError on an unknown trigger."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r} (use {', '.join(TRIGGERS)})")
    return [s for s in rules.sequences if s.trigger == trigger]


def sequence_by_id(rules: SequenceRules, sequence_id: str) -> Sequence | None:
    """The sequence with this id, or None (e.g. a stored row whose sequence left the rules)."""
    return next((s for s in rules.sequences if s.id == sequence_id), None)


def step_by_id(sequence: Sequence, step_id: str) -> Step | None:
    """The step with this id, or None."""
    return next((s for s in sequence.steps if s.id == step_id), None)


def next_in_window(window: Window, moment: datetime, tz: str) -> datetime:
    """The first instant >= ``moment`` inside ``window`` in zone ``tz``, as aware UTC."""
    return next_working_moment(window.hours(tz), moment)


def step_applies(step: Step, facts: Mapping[str, Any]) -> bool:
    """Whether the step's ``when`` holds (no ``when`` = always). ValueError on malformed facts."""
    return step.when is None or step.when(clean_facts(facts, FACT_TYPES))


def stop_rule(rules: SequenceRules, sequence: Sequence, facts: Mapping[str, Any]) -> StopRule | None:
    """The first of the sequence's stop rules (in stop_rules file order) that fires, if any."""
    clean = clean_facts(facts, FACT_TYPES)
    return next((r for r in (rules.stop_rules[i] for i in sequence.stop) if r.when(clean)), None)


def stop_reason(rules: SequenceRules, sequence: Sequence, facts: Mapping[str, Any]) -> str | None:
    """The reason of the first firing stop rule (for the timeline), or None to go ahead."""
    rule = stop_rule(rules, sequence, facts)
    return None if rule is None else rule.reason


def plan(
    sequence: Sequence,
    *,
    enrolled_at: datetime,
    tz: str,
    facts: Mapping[str, Any],
    coach_hours: WorkingHours | None = None,
    sent: Mapping[str, datetime] | None = None,
    not_before: datetime | None = None,
) -> list[PlannedStep]:
    """Due times (aware UTC) of the steps that apply, in order, each ``min_gap`` after the last.

    Prospects use ``tz``, the lead's zone (ValueError if unknown); coach reminders use
    ``coach_hours`` (required; ``tz`` unused). To re-plan, pass the steps already ``sent``
    (id -> when: left out, the latest counts for the gap) and ``not_before`` (usually now).
    Stop rules are not checked here. ValueError on malformed facts or naive datetimes.
    """
    sent = sent or {}
    if any(m.tzinfo is None or m.utcoffset() is None for m in (enrolled_at, *sent.values(), not_before) if m):
        raise ValueError("enrolled_at, sent and not_before must be timezone-aware datetimes")
    if sequence.window is not None:
        hours = sequence.window.hours(tz)
    elif coach_hours is not None:
        hours = coach_hours
    else:
        raise ValueError(f"sequence '{sequence.id}' is for the coach: pass coach_hours")
    clean = clean_facts(facts, FACT_TYPES)
    previous = max((m.astimezone(UTC) for m in sent.values()), default=None)
    planned: list[PlannedStep] = []
    for step in sequence.steps:
        if step.id in sent or (step.when is not None and not step.when(clean)):
            continue
        due = step.delay.after(enrolled_at, hours.tz)
        if previous is not None:
            due = max(due, sequence.min_gap.after(previous, hours.tz))
        if not_before is not None:
            due = max(due, not_before.astimezone(UTC))
        previous = next_working_moment(hours, due)
        planned.append(PlannedStep(step.id, step.template, previous))
    return planned


# --- loading (called by coachapp.assessment.rules.load_rules) --------------------------------


def _where(kind: str, raw: Any) -> str:
    return f"{kind} '{raw.get('id') if isinstance(raw, Mapping) else raw}'"


def _ids(entries: list[Any], what: str, issues: Issues) -> None:
    """Duplicate ids, and ids that are not lower_case names (they are stored in database rows)."""
    ids = [e.get("id") for e in entries if isinstance(e, Mapping)]
    check_unique(ids, what, issues)
    for ident in [i for i in ids if not isinstance(i, str) or not _NAME.match(i)]:
        issues.add(f"{what} {ident!r}", "ids are lower_case_with_underscores (at most 64 characters)")


def _delay(node: Node, key: str, positive: bool = False) -> Delay | None:
    raw = node.raw(key)
    units = raw if isinstance(raw, Mapping) else {}
    values = [units.get(u, 0) for u in DELAY_UNITS]
    whole = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)
    delay = Delay(values[0] * 7 + values[1], values[2] * 60 + values[3]) if whole else None
    if not units or any(u not in DELAY_UNITS for u in units) or delay is None:
        shape = "like {days: 3}: whole numbers >= 0 of " + ", ".join(DELAY_UNITS)
        node.issues.add(node.where, f"'{key}' must be {shape}; got {raw!r}")
    elif positive and not delay.total_minutes():
        node.issues.add(node.where, f"'{key}' must be more than 0")
    else:
        return delay
    return None


def _window(raw: Any, where: str, issues: Issues) -> Window | None:
    node = Node(raw, where, issues, ("days", "start", "end"), ("notes",))
    times = [node.raw("start"), node.raw("end")]
    if node.ok and not all(isinstance(t, str) for t in times):
        issues.add(where, f"'start' and 'end' must be quoted times like \"08:00\", got {times!r}")
    elif node.ok:
        try:
            return Window(node.str_list("days"), *times)
        except ValueError as exc:
            issues.add(where, str(exc))
    return None


class _Loader:
    """Compiles one sequences file; remembers which templates and stop rules are used."""

    def __init__(self, issues: Issues, windows: dict[str, Window], templates: dict[str, str]) -> None:
        self.issues, self.windows, self.templates = issues, windows, templates
        self.stop_rules: dict[str, StopRule] = {}
        self.used: dict[str, set[str]] = {"template": set(), "stop rule": set()}

    def stop_rule(self, raw: Any) -> None:
        node = Node(raw, _where("stop rule", raw), self.issues, ("id", "when", "reason"), ("notes",))
        when = compile_condition(node.raw("when"), FACT_TYPES, self.issues, node.where) if node.ok else None
        reason, ident = node.str("reason"), node.str("id")
        if when and reason and ident and ident not in self.stop_rules:
            self.stop_rules[ident] = StopRule(ident, when, reason)

    def step(self, raw: Any, where: str, previous: Step | None) -> Step | None:
        node = Node(raw, f"{where} {_where('step', raw)}", self.issues, ("id", "delay", "template"), ("when", "notes"))
        if not node.ok:
            return None
        delay, template = _delay(node, "delay"), node.str("template") or ""
        when = compile_condition(node.raw("when"), FACT_TYPES, self.issues, node.where) if node.has("when") else None
        self.used["template"].add(template)
        if template and template not in self.templates:
            self.issues.add(node.where, f"unknown template '{template}' (add it to 'templates')")
        if previous and delay and delay.total_minutes() < previous.delay.total_minutes():
            self.issues.add(node.where, f"delay is shorter than the previous step '{previous.id}' (keep time order)")
        ok = template in self.templates and (when or not node.has("when"))
        return Step(str(node.raw("id")), delay, template, when) if ok and delay else None

    def window(self, node: Node, audience: str | None) -> Window | None:
        raw = node.raw("window", COACH_HOURS if audience == "coach" else "default")
        if audience == "coach" and raw != COACH_HOURS:
            self.issues.add(node.where, f"coach reminders use the coach's working hours: 'window: {COACH_HOURS}'")
        elif audience == "prospect" and isinstance(raw, Mapping):
            return _window(raw, f"{node.where} window", self.issues)
        elif audience == "prospect" and isinstance(raw, str) and raw in self.windows:
            return self.windows[raw]
        elif audience == "prospect":
            names = ", ".join(self.windows)
            self.issues.add(node.where, f"unknown window {raw!r} (use {names} or an inline {{days, start, end}})")
        return None

    def sequence(self, raw: Any) -> Sequence | None:
        required = ("id", "trigger", "audience", "marketing", "stop", "steps")
        optional = ("name", "description", "window", "min_gap", "notes")
        node = Node(raw, _where("sequence", raw), self.issues, required, optional)
        if not node.ok:
            return None
        trigger, audience = node.choice("trigger", TRIGGERS), node.choice("audience", AUDIENCES)
        marketing, window, stops = node.bool("marketing"), self.window(node, audience), node.str_list("stop")
        if audience == "coach" and marketing:
            self.issues.add(node.where, "coach reminders cannot be marketing")
        self.used["stop rule"].update(stops)
        for ident in [s for s in stops if s not in self.stop_rules]:
            self.issues.add(node.where, f"unknown stop rule '{ident}' (defined: {', '.join(self.stop_rules)})")
        kinds = ["all", *(["prospect"] if audience == "prospect" else []), *(["marketing"] if marketing else [])]
        for ident in [i for k in kinds for i in REQUIRED_STOPS[k] if i not in stops]:
            self.issues.add(node.where, f"must list stop rule '{ident}'")
        min_gap = _delay(node, "min_gap", positive=True) if node.has("min_gap") else DEFAULT_GAP
        entries, steps = node.list("steps"), []
        if not entries:
            self.issues.add(node.where, "needs at least one step")
        _ids(entries, f"{node.where} step", self.issues)
        for entry in entries:
            if (step := self.step(entry, node.where, steps[-1] if steps else None)) is not None:
                steps.append(step)
        if not (trigger and audience and (window or audience == "coach") and min_gap and len(steps) == len(entries)):
            return None
        ordered, description = tuple(i for i in self.stop_rules if i in stops), node.str("description", "") or ""
        return Sequence(str(node.raw("id")), trigger, audience, marketing, window, ordered, tuple(steps), min_gap,
                        description, node.str("name", "") or "")


def load_sequence_rules(data: Any, issues: Issues) -> SequenceRules:
    """Validate and compile ``sequences.yaml``, reporting every problem to ``issues``."""
    head = file_header(data, issues, ("windows", "stop_rules", "templates", "sequences"))
    windows, templates = {}, {}
    for name, raw in head.mapping("windows").items():
        if name == COACH_HOURS or not isinstance(name, str) or not _NAME.match(name):
            issues.add(f"window {name!r}", f"window names are lower_case_with_underscores, not '{COACH_HOURS}'")
        elif (window := _window(raw, f"window '{name}'", issues)) is not None:
            windows[name] = window
    if head.ok and "default" not in head.mapping("windows"):
        issues.add("windows", "missing the 'default' window")
    for name, text in head.mapping("templates").items():
        if not isinstance(name, str) or not _NAME.match(name) or not isinstance(text, str) or not text.strip():
            issues.add(f"template {name!r}", "needs a lower_case name (a file name) and a short description")
        else:
            templates[name] = text.strip()
    loader = _Loader(issues, windows, templates)
    stop_entries, entries = head.list("stop_rules"), head.list("sequences")
    _ids(stop_entries, "stop rule", issues)
    for raw in stop_entries:
        loader.stop_rule(raw)
    for ident in [i for ids in REQUIRED_STOPS.values() for i in ids if i not in loader.stop_rules]:
        issues.add(f"stop rule '{ident}'", "missing: sequences of its kind must list it")
    _ids(entries, "sequence", issues)
    sequences = tuple(s for s in map(loader.sequence, entries) if s is not None)
    for kind, names in (("template", templates), ("stop rule", loader.stop_rules)):
        for name in [n for n in names if n not in loader.used[kind]]:
            issues.add(f"{kind} '{name}'", "not used by any sequence")
    return SequenceRules(MappingProxyType(windows), MappingProxyType(loader.stop_rules),
                         MappingProxyType(templates), sequences)
