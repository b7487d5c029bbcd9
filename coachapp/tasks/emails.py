"""Email tasks: send one outbox row; sweep the outbox."""

from __future__ import annotations

from celery import shared_task

from coachapp.emails import outbox


@shared_task(name="outbox.send", ignore_result=True)
def send_outbox_message(message_id: int) -> str:
    return outbox.deliver(message_id)


@shared_task(name="outbox.sweep", ignore_result=True)
def sweep_outbox() -> int:
    return len(outbox.sweep())
