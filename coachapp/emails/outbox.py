"""The outbox service: queue in the business transaction, publish after commit,
claim atomically, send once, retry with backoff, sweep what the broker lost.

Guarantees:
- a row is written in the same transaction as the change that causes it, so a
  broker outage delays an email but never loses it (the beat sweep publishes
  rows nobody published); publishing has short timeouts, so a hung broker
  costs a request well under a second;
- ``purpose_key`` is unique, so one purpose gets one email, however often the
  code that queues it runs;
- a send starts with an atomic claim (``queued`` → ``sending``) that holds for
  ``OUTBOX_CLAIM_LEASE`` seconds and is renewed while the send runs, so a task
  that runs twice sends once, and a dead worker's row is retaken after the lease;
- the SMTP conversation has a deadline, and once the server has accepted the
  message, recording "sent" is retried through database outages
  (``OUTBOX_RECORD_DEADLINE``), both well inside the lease;
- a 5xx to RCPT TO bounces the lead's address; a 5xx anywhere else is our
  problem (failed, logged at ERROR, the owner alerted once a day), never the lead's.
"""

from coachapp.emails.delivery import BACKOFF_MINUTES, SETUP_ALERT_KIND, claim, deliver
from coachapp.emails.queueing import (
    SEND_TASK,
    claim_lease,
    commit,
    due_for_publishing,
    publish,
    queue_email,
    queued_here,
    resend,
    sweep,
)

__all__ = [
    "BACKOFF_MINUTES",
    "SEND_TASK",
    "SETUP_ALERT_KIND",
    "claim",
    "claim_lease",
    "commit",
    "deliver",
    "due_for_publishing",
    "publish",
    "queue_email",
    "queued_here",
    "resend",
    "sweep",
]
