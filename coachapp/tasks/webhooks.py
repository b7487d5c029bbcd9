"""Webhook tasks: deliver one row; sweep the due ones (beat, every minute).

``webhooks.deliver`` has soft/hard time limits (``config.celery_settings``) inside
``WEBHOOKS_CLAIM_LEASE``; a POST itself ends within ``WEBHOOKS_DEADLINE``.
"""

from __future__ import annotations

from celery import shared_task

from coachapp.webhooks_out import delivery, queueing


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    return delivery.deliver(delivery_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep_webhooks() -> int:
    return len(queueing.sweep())
