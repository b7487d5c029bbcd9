"""Lead import task: runs one uploaded CSV (``leads.importer.run``), batch by batch."""

from __future__ import annotations

from celery import shared_task

from coachapp.leads import importer


@shared_task(name="imports.run", ignore_result=True)
def run(job_id: int) -> str:
    return importer.run(job_id)
