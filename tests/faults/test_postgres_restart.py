"""PostgreSQL restarted during sends: once exactly between the SMTP server's 250 and the commit
of "sent" (the window that used to send duplicates), once at an arbitrary moment mid-batch."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import queue_batch, report, tally

pytestmark = pytest.mark.faults

BATCH = 30


def test_postgres_restarts_during_sends_lose_nothing_and_duplicate_nothing(steady_stack, postgres):
    stack, sink = steady_stack, steady_stack.sink
    injected: list[str] = []
    restarted = threading.Event()

    def inject(message) -> None:
        accepted = len(sink.accepted)
        if accepted == 7 and not injected:
            # The body has arrived; before the server answers 250, the database goes down.
            pid = postgres.crash()
            injected.append(f"PostgreSQL crashed (immediate shutdown) before the 250 for {message['To']}")
            time.sleep(0.2)  # the worker's connection is dead by the time it reads the 250

            def come_back() -> None:
                postgres.wait_gone(pid)
                time.sleep(1.0)
                postgres.start()
                restarted.set()

            threading.Thread(target=come_back, daemon=True).start()
        elif accepted == 18 and len(injected) == 1:
            # Mid-batch, at whatever the worker is doing: a claim, a send, a lease renewal, a record.
            injected.append("PostgreSQL restarted (fast shutdown) while the 19th email was being accepted")
            threading.Thread(target=postgres.restart, daemon=True).start()

    sink.accept_delay = 0.05  # a realistic server: the batch takes seconds, not milliseconds
    sink.before_accept = inject
    seen = {id(w): len(w.lines) for w in stack.workers}
    ids = queue_batch(stack, BATCH, prefix="pg")
    assert stack.drive(restarted.is_set, timeout=60), "the crash was never injected:\n" + stack.logs()
    window_message = sink.accepted[7][0]
    done = stack.drive(lambda: [r.status for r in stack.rows()] == ["sent"] * BATCH and sink.total() >= BATCH,
                       timeout=90)
    counts = tally(stack)
    rows = {row.message_id: row for row in stack.rows()}
    retries = sum("retrying" in line and "recording sent" in line
                  for w in stack.workers for line in w.lines[seen.get(id(w), 0):])
    report("PostgreSQL restarted during sends", injected="; ".join(injected), **counts,
           record_sent_retries_logged=retries,
           attempts_of_the_window_message=rows[window_message].attempts)
    assert done, stack.logs()
    assert counts["rows"] == len(ids) == BATCH
    assert counts["lost"] == counts["duplicates"] == counts["unknown_deliveries"] == 0
    assert rows[window_message].attempts == 1  # recorded by the worker that sent it, not sent again
    assert retries >= 1
