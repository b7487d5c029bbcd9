"""Email tasks: send one outbox row; sweep the outbox.

``outbox.send`` has Celery soft and hard time limits shorter than the claim lease (set in
``config.celery_settings`` from ``OUTBOX_CLAIM_LEASE``), so a send can never outlive its claim.
When the database cannot be reached before anything was sent (the claim itself failed), the
task is retried a few times with backoff; the sweep covers whatever is left. A worker keeps its
SMTP connection open between emails (``SMTP_KEEPALIVE``) and says QUIT on it when it shuts down.
"""

from __future__ import annotations

from celery import Task, shared_task
from celery.signals import worker_process_shutdown, worker_shutdown

from coachapp.emails import outbox
from coachapp.emails.lease import transient
from coachapp.emails.sender import close_cached

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


@worker_shutdown.connect
@worker_process_shutdown.connect
def close_smtp_connection(**_: object) -> None:
    """The worker (solo) or pool process is going away: QUIT the SMTP connection it kept open."""
    close_cached()
