"""Email tasks: send one outbox row; sweep the outbox.

``outbox.send`` has Celery soft and hard time limits shorter than the claim lease (set in
``config.celery_settings`` from ``OUTBOX_CLAIM_LEASE``), so a send can never outlive its claim.
When the database cannot be reached before anything was sent (the claim itself failed), the
task is retried a few times with backoff; the sweep covers whatever is left.
"""

from __future__ import annotations

from celery import Task, shared_task

from coachapp.emails import outbox
from coachapp.emails.lease import transient

#: Seconds before the 1st, 2nd, … retry of a send whose claim hit a database error.
DB_RETRY_COUNTDOWN = (1, 2, 4, 8, 16)


@shared_task(name="outbox.send", bind=True, ignore_result=True, max_retries=len(DB_RETRY_COUNTDOWN))
def send_outbox_message(self: Task, message_id: int) -> str:
    try:
        return outbox.deliver(message_id)
    except Exception as exc:
        if not transient(exc) or self.request.retries >= len(DB_RETRY_COUNTDOWN):
            raise
        raise self.retry(exc=exc, countdown=DB_RETRY_COUNTDOWN[self.request.retries]) from exc


@shared_task(name="outbox.sweep", ignore_result=True)
def sweep_outbox() -> int:
    return len(outbox.sweep())
