"""Strategies for hostile input, and the check that nothing invalid was stored."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import JSON, String, Text, select

from coachapp.textclean import has_controls, json_strings

#: Hand-picked trouble: NUL and friends, bidi and BOM, escapes, injections, the very long.
NASTY = [
    "\x00", "a\x00b", "\x00" * 3, "\x01\x02\x07\x08", "\x0b\x0c", "\x1b[31mred", "\x7f", "\x85", "\x9f",
    "\r\n", "\n", "\t", "\u2028", "\u202e", "\ufeff", "\ufffd", "\U0010ffff", "🏃‍♀️", "é", "Ω",
    "%00", "%ud800", "\\u0000", "\\ud800", "'; DROP TABLE leads; --", "<script>alert(1)</script>",
    "{{ 7*7 }}", "{% raw %}", "${jndi:ldap://x}", "../../etc/passwd", "   ", "", "0", "-1", "1e999",
    "NaN", "null", "true", "[]", "{}", "x" * 300, "x" * 5000,
]

#: Any text a browser or a script could send as a form value (lone surrogates cannot be sent).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
CONTROL = st.characters(categories=("Cc",))


class Tally:
    """Responses by status for one property, printed at the end (``pytest -s`` shows it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.statuses: Counter[int] = Counter()

    def __call__(self, response):
        assert response.status_code < 500, (self.name, response.status_code, response.get_data(as_text=True)[:500])
        self.statuses[response.status_code] += 1
        response.close()  # a static file's handle too; status and headers stay readable
        return response

    def report(self) -> None:
        total = sum(self.statuses.values())
        print(f"\n[hostile] {self.name}: {total} requests, by status {dict(sorted(self.statuses.items()))}")


def junk() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NASTY), TEXT)


@st.composite
def salted(draw, base: st.SearchStrategy[str], only_controls: bool = False) -> str:
    """A plausible value with control characters (or other trouble) spliced in."""
    value = draw(base)
    extra = CONTROL if only_controls else st.one_of(CONTROL, st.sampled_from(NASTY[:20]))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(value)))
        value = value[:at] + draw(extra) + value[at:]
    return value


#: How a generated form is filled in: all valid (it gets stored), valid with control characters
#: spliced in (stored once cleaned: the database check proves they went), or anything at all.
MODES = st.sampled_from(["valid", "controls", "wild"])


def field(valid: list[str] | st.SearchStrategy[str], mode: str = "wild", odd: list[str] = ()) -> st.SearchStrategy[str]:
    """One form value. ``odd``: plausible but invalid values, tried in "wild" mode."""
    base = st.sampled_from(valid) if isinstance(valid, list) else valid
    if mode == "valid":
        return base
    if mode == "controls":
        return st.one_of(base, salted(base, only_controls=True))
    wild = [base, salted(base), junk()] + ([st.sampled_from(list(odd))] if odd else [])
    return st.one_of(*wild)


def multi(valid: list[str], mode: str = "wild", min_size: int = 0) -> st.SearchStrategy[list[str]]:
    if mode == "valid":
        return st.lists(st.sampled_from(valid), min_size=min_size, max_size=3, unique=True)
    return st.lists(field(valid, mode), min_size=min_size if mode == "controls" else 0, max_size=4)


NAMES = ["Dana", "José", "Anne-Marie", "O'Brien", "李", "Zoë", "Mary Ann"]
EMAILS = ["dana@example.com", "Dana.Runner@Example.com", "x@y.co"]
ODD_EMAILS = ["not-an-email", "a@b", "@example.com", "dana@@example.com", "dana@example..com"]
PHONES = ["512 555 0100", "+44 20 7946 0958", "(512) 555-0199"]
ODD_PHONES = ["12", "+1", "555", "+999 1234", "tel:5125550100"]


def answers_for(seed: int) -> dict[str, Any]:
    """A complete, valid answer set (random but reproducible)."""
    from coachapp.assessment.samples import random_answers
    from coachapp.rules_store import get_rules

    return random_answers(get_rules().assessment, random.Random(seed), date.today(), answer_rate=0.6)


def ready_for_contact(app, seed: int = 1, first_touch: dict[str, Any] | None = None,
                      token: str | None = None) -> str:
    """A submission (new, or the one started as ``token``) with every core screen answered:
    the next thing it takes is the contact step."""
    from coachapp.extensions import db
    from coachapp.leads import assessments as flow
    from coachapp.models import utcnow
    from coachapp.rules_store import get_rules

    with app.app_context():
        now = utcnow()
        submission = flow.by_token(token) if token else flow.start(first_touch or {}, now)
        flow.save_step_all(get_rules(), submission, answers_for(seed), now)
        db.session.commit()
        return submission.token


#: Columns holding one line: names, addresses, sources, subjects. No tab or newline either.
def _one_line(column) -> bool:
    return isinstance(column.type, String) and not isinstance(column.type, Text)


def stored_problems(app) -> list[str]:
    """Every stored string with a control character (one-line columns: tab/newline too),
    JSON documents included."""
    from coachapp.extensions import db

    problems: list[str] = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
            if not columns:
                continue
            for row in db.session.execute(select(*columns)).all():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str):
                        if has_controls(value, multiline=not _one_line(column)):
                            problems.append(f"{table.name}.{column.name} = {value!r:.120}")
                    elif value is not None:
                        problems.extend(f"{table.name}.{column.name}[{path}] = {text!r:.120}"
                                        for path, text in json_strings(value)
                                        if has_controls(text, multiline=True))
        db.session.remove()
    return problems


def assert_nothing_invalid_stored(app) -> None:
    problems = stored_problems(app)
    assert not problems, "\n".join(problems[:20])
