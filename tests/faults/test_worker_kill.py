"""A worker SIGKILLed mid-batch, in the middle of an SMTP conversation (the body sent, the
server's answer not yet read): another worker finishes the batch, and the dead worker's row is
retaken when its lease (10 s here) runs out. Nothing lost, nothing twice. Each worker sends over
one kept-open SMTP connection (issue 12): the kill cuts that connection mid-conversation."""

from __future__ import annotations

import time

import pytest

from tests.conftest import dispose
from tests.faults.conftest import build_stack, queue_batch, report, tally

pytestmark = pytest.mark.faults

BATCH = 30


def test_worker_sigkill_mid_batch(fault_database, shared_redis, fresh_sink, tmp_path):
    sink = fresh_sink
    stack = build_stack(fault_database, shared_redis.url, sink, tmp_path)  # its own queue
    try:
        sink.accept_delay = 0.05
        sink.add("end", "hang", after=9)  # the 10th message: the body arrives, no answer comes
        victim = stack.start_worker("victim")
        killed: list[tuple[int, float]] = []

        def kill_victim() -> None:  # the worker is blocked reading the reply: SIGKILL, no cleanup
            killed.append((sink.total(), time.monotonic()))
            victim.kill()

        sink.on_hang = kill_victim
        ids = queue_batch(stack, BATCH, prefix="kill")
        assert sink.hanging.wait(60), stack.logs()
        delivered_at_kill, killed_at = killed[0]
        stack.start_worker("successor")
        done = stack.drive(lambda: [r.status for r in stack.rows()] == ["sent"] * BATCH
                           and sink.total() >= BATCH, timeout=120)
        recovered_after = time.monotonic() - killed_at
        counts = tally(stack)
        retaken = [row for row in stack.rows() if row.attempts > 1]
        report("worker SIGKILL mid-batch",
               injected=f"SIGKILL to the worker while it waited for the 250 of message 10 "
                        f"({delivered_at_kill} delivered before)",
               **counts, rows_retaken_after_the_lease=len(retaken), smtp_connections=sink.connections,
               seconds_from_kill_to_all_sent=round(recovered_after, 1))
        assert done, stack.logs()
        assert 0 < delivered_at_kill < BATCH, "the kill did not land mid-batch"
        assert counts["rows"] == len(ids) == BATCH
        assert counts["lost"] == counts["duplicates"] == counts["unknown_deliveries"] == 0
        assert len(retaken) == 1  # the row the victim held, sent once by its successor
        assert sink.connections <= 4  # one per worker (two), a spare or two: not one per email (30)
    finally:
        stack.stop()
        dispose(stack.app)
