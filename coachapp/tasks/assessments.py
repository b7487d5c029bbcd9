"""Housekeeping for assessments."""

from __future__ import annotations

from celery import shared_task

from coachapp.leads import assessments


@shared_task(name="assessments.purge_abandoned", ignore_result=True)
def purge_abandoned() -> int:
    return assessments.purge_abandoned()
