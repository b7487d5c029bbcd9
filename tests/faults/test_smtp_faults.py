"""SMTP faults against a real worker: 4xx at every stage, 5xx to RCPT TO (a bounce) versus 5xx
to MAIL FROM (our problem), and servers that hang or trickle bytes (the deadline)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from coachapp.extensions import db
from coachapp.models import Lead, LeadEvent, OutboxMessage, utcnow
from tests.faults.conftest import queue_batch, report, tally

pytestmark = pytest.mark.faults


def _make_due(stack) -> None:
    """Time passes: every row waiting for its backoff becomes due."""
    with stack.app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.status == "queued")
                           .values(next_attempt_at=utcnow()))
        db.session.commit()
        db.session.remove()


def _statuses(stack) -> list[str]:
    return [row.status for row in stack.rows()]


def _leads(stack) -> dict[str, Lead]:
    with stack.app.app_context():
        leads = {lead.email: lead for lead in db.session.execute(select(Lead)).scalars()}
        for lead in leads.values():
            db.session.expunge(lead)
        db.session.remove()
        return leads


def _event_kinds(stack) -> list[tuple[str, dict]]:
    with stack.app.app_context():
        events = [(e.kind, dict(e.data or {})) for e in db.session.execute(select(LeadEvent)).scalars()]
        db.session.remove()
        return events


def test_4xx_at_any_stage_is_retried_and_delivered_once(steady_stack):
    stack, sink = steady_stack, steady_stack.sink
    faults = [("greeting", "421 4.3.2 Service not available"), ("mail", "451 4.3.0 Try again later"),
              ("rcpt", "452 4.2.2 Mailbox full"), ("end", "451 4.7.1 Greylisted, come back later")]
    for stage, reply in faults:
        sink.add(stage, reply)
    ids = queue_batch(stack, 6, prefix="temp")
    assert stack.drive(lambda: sorted(_statuses(stack)) == ["queued"] * 4 + ["sent"] * 2, timeout=60), stack.logs()
    first_round = tally(stack)
    _make_due(stack)  # the backoff has passed
    assert stack.drive(lambda: _statuses(stack) == ["sent"] * 6, timeout=60), stack.logs()
    counts = tally(stack)
    attempts = sorted(row.attempts for row in stack.rows())
    report("SMTP 4xx", injected=", ".join(f"{r.split()[0]} at {s}" for s, r in faults),
           after_first_round=first_round["statuses"], **counts, attempts=attempts)
    assert len(ids) == counts["rows"] == counts["delivered"] == 6
    assert counts["lost"] == counts["duplicates"] == counts["unknown_deliveries"] == 0
    assert attempts == [1, 1, 2, 2, 2, 2]


def test_5xx_to_rcpt_to_bounces_that_recipient_only(steady_stack):
    stack, sink = steady_stack, steady_stack.sink
    sink.add("rcpt", "550 5.1.1 <bounce1@example.com>: No such user", rcpt="bounce1@example.com")
    queue_batch(stack, 3, prefix="bounce", leads=True)
    assert stack.drive(lambda: sorted(_statuses(stack)) == ["failed", "sent", "sent"], timeout=60), stack.logs()
    counts = tally(stack)
    leads = _leads(stack)
    bounced = sorted(email for email, lead in leads.items() if lead.bounced_at is not None)
    report("SMTP 5xx to RCPT TO", injected="550 to RCPT TO for bounce1@example.com", **counts, bounced=bounced)
    assert bounced == ["bounce1@example.com"]
    assert counts["delivered"] == 2 and counts["duplicates"] == 0
    assert [kind for kind, _ in _event_kinds(stack)].count("bounced") == 1


def test_5xx_to_mail_from_is_our_problem_not_the_leads(steady_stack):
    stack, sink = steady_stack, steady_stack.sink
    sink.add("mail", "550 5.7.1 Sender address rejected: not owned by user", times=100)
    seen = {id(w): len(w.lines) for w in stack.workers}
    queue_batch(stack, 3, prefix="sender", leads=True)

    def settled() -> bool:
        rows = stack.rows()
        alerts = [r for r in rows if r.kind == "mail_setup_alert"]
        return len(rows) == 4 and len(alerts) == 1 and all(r.status == "failed" for r in rows)

    assert stack.drive(settled, timeout=60), stack.logs()
    counts = tally(stack)
    leads = _leads(stack)
    events = _event_kinds(stack)
    failed_ours = [data for kind, data in events if kind == "email_failed" and data.get("ours")]
    error_lines = sum("refused the sender" in line for w in stack.workers for line in w.lines[seen.get(id(w), 0):])
    report("SMTP 5xx to MAIL FROM", injected="550 to every MAIL FROM", **counts,
           leads_bounced=sum(lead.bounced_at is not None for lead in leads.values()),
           timeline_events_ours=len(failed_ours), owner_alerts=1, worker_error_lines=error_lines)
    assert all(lead.bounced_at is None for lead in leads.values())  # nobody's follow-ups stop
    assert "bounced" not in [kind for kind, _ in events]
    assert len(failed_ours) == 3
    assert error_lines >= 4  # three emails and the owner's alert, each at ERROR
    assert counts["delivered"] == 0 and counts["rows"] == 4


def test_a_server_that_hangs_or_trickles_never_holds_the_worker(steady_stack):
    """Before: a trickling server blocked the worker for minutes. Now each send ends at its
    deadline (1.5 s here), the worker moves on, and the retry delivers once."""
    stack, sink = steady_stack, steady_stack.sink
    sink.add("greeting", "hang")
    sink.add("ehlo", "trickle", interval=0.25)  # a byte every 0.25 s: no read ever times out
    sink.add("end", "hang")  # the body is sent, the 250 never comes
    started = time.monotonic()
    queue_batch(stack, 5, prefix="slow")
    assert stack.drive(lambda: sorted(_statuses(stack)) == ["queued"] * 3 + ["sent"] * 2, timeout=60), stack.logs()
    took = time.monotonic() - started
    errors = sorted(row.last_error for row in stack.rows() if row.status == "queued")
    _make_due(stack)
    assert stack.drive(lambda: _statuses(stack) == ["sent"] * 5, timeout=60), stack.logs()
    counts = tally(stack)
    report("SMTP hang and trickle", injected="hang at greeting, trickle at EHLO, hang after the body",
           seconds_for_five_sends=round(took, 1), errors=errors, **counts)
    assert len(errors) == 3 and all("timed out" in e or "deadline" in e for e in errors)
    assert any("deadline" in e for e in errors)  # only the deadline catches a trickle
    assert counts["delivered"] == 5 and counts["lost"] == counts["duplicates"] == 0
    assert took < 30  # three stalled servers cost ~1.5 s each, not minutes
