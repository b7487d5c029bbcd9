"""Rules replay task: the last N submissions under a draft and the live rules (``rules_preview.replay.run``)."""

from __future__ import annotations

from celery import shared_task

from coachapp.rules_preview import replay


@shared_task(name="rules.replay", ignore_result=True)
def run(replay_id: int) -> str:
    return replay.run(replay_id)
