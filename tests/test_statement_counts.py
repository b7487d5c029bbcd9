"""SQL statements per submission: a regression guard on the write path (issue 12), not a timing.

Counts every statement the request sends to the database (``before_cursor_execute`` on the
engine) and every commit, prints them per kind (``pytest -s`` shows them; ``SHOW_SQL=1`` lists
them), and asserts the total stays at or below what the lean write path achieves, in one
commit. Raise a limit only with a reason.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, LeadEvent, OutboxMessage, StrategyRequest
from tests.helpers import CONTACT, DESK_ACHILLES, complete_assessment
from tests.helpers_strategy import QUICK_FORM, STRATEGY_FORM, make_coach

#: The most statements (every kind, commits not included) each request may take, per backend, and
#: one commit. Before issue 12 (PostgreSQL / SQLite): API 43 / 47 with 2 commits, strategy session
#: 49 / 51, the quick form 48 / 52. SQLite sends one INSERT per row where PostgreSQL batches
#: (``insertmanyvalues``); that costs no round trip in-process.
LIMITS = {
    ("api", "postgresql"): 8, ("api", "sqlite"): 18,
    # a retake with real progress (issue 14.1): a returning runner's path, plus one SELECT of the
    # earlier attempts, and the "you improved" task (its open-task check, its INSERT, and the flush
    # for its id that splits the timeline's INSERT in two)
    ("api_returning", "postgresql"): 23, ("api_returning", "sqlite"): 24,
    ("strategy", "postgresql"): 10, ("strategy", "sqlite"): 20,
    ("strategy_quick", "postgresql"): 22, ("strategy_quick", "sqlite"): 31,
}


class Counts:
    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.commits = 0
        self.statements: list[str] = []

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def line(self, name: str, dialect: str) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.kinds.items()))
        return f"{name} on {dialect}: {self.total} statements ({kinds}), {self.commits} commit(s)"


@contextmanager
def counting() -> Iterator[Counts]:
    counts = Counts()
    engine = db.engine
    # No webhook endpoint: "none" is remembered per process (WEBHOOKS_ENDPOINTS_TTL), so a warm
    # process reads nothing for them. Warm it here, so the count is the steady state's.
    from coachapp.webhooks_out import endpoints

    endpoints.active()
    # Which rules version is live is looked up once per RULES_LIVE_TTL (5 s) per process, not per
    # request: warm it too (a process serving traffic has it).
    from coachapp import rules_store

    rules_store.live()
    db.session.commit()

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        counts.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1
        counts.statements.append(statement)

    def on_commit(conn) -> None:
        counts.commits += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def _check(name: str, counts: Counts) -> None:
    dialect = db.engine.dialect.name
    print("\n" + counts.line(name, dialect))
    if os.environ.get("SHOW_SQL"):
        print("\n".join(s[:160].replace("\n", " ") for s in counts.statements))
    assert counts.total <= LIMITS[name, dialect], "\n".join(counts.statements)
    assert counts.commits == 1


def test_api_post_with_contact_and_consent(db_app):
    make_coach(db)
    client = db_app.test_client()
    with counting() as counts:
        response = client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": CONTACT})
    assert response.status_code == 201, response.get_json()
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.kind == "assessment_plan"
    # written in the same flush as the email, the timeline line still names it
    queued = db.session.execute(select(LeadEvent).where(LeadEvent.kind == "email_queued")).scalar_one()
    assert queued.outbox_id == queued.email_id == message.id
    _check("api", counts)


def test_strategy_session_post_standalone(web):
    make_coach(db)
    web.get("/strategy-session")
    with counting() as counts:
        response = web.post("/strategy-session", STRATEGY_FORM)
    assert response.status_code == 302
    assert db.session.execute(select(StrategyRequest)).scalar_one()
    _check("strategy", counts)


def test_strategy_session_post_quick_from_an_assessment(web):
    make_coach(db)
    complete_assessment(DESK_ACHILLES, CONTACT["email"])
    token = db.session.execute(select(AssessmentSubmission.token)).scalar_one()
    web.get(f"/strategy-session?from_assessment={token}")
    with counting() as counts:
        response = web.post("/strategy-session", {**QUICK_FORM, "assessment_token": token})
    assert response.status_code == 302
    assert db.session.execute(select(StrategyRequest.assessment_submission_id)).scalar_one() is not None
    assert len(db.session.execute(select(Lead)).scalars().all()) == 1
    _check("strategy_quick", counts)


def test_api_post_for_a_returning_runner_reads_earlier_attempts_once(db_app):
    """A retake (issue 14.1): the same path as any returning runner, plus exactly one SELECT of
    the lead's earlier attempts for the comparison."""
    make_coach(db)
    complete_assessment(DESK_ACHILLES, CONTACT["email"])
    client = db_app.test_client()
    retake = {**DESK_ACHILLES, "ktw_left_cm": 11, "ktw_right_cm": 11}
    with counting() as counts:
        response = client.post("/api/v1/assessments", json={"answers": retake, "contact": CONTACT})
    assert response.status_code == 201, response.get_json()
    attempts = [s for s in counts.statements
                if "assessment_submissions.completed_at, assessment_submissions.answers" in s]
    assert len(attempts) == 1
    assert response.get_json()["result"]["progress"]["improved_tests"] == 1
    _check("api_returning", counts)
