"""Priority-weights fit task: runs one queued fit (``leads.weight_fits.run``) in the worker."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from coachapp.leads import weight_fits
from coachapp.rules_store import get_rules


@shared_task(name=weight_fits.FIT_TASK, ignore_result=True)
def fit(fit_id: int) -> str:
    return weight_fits.run(fit_id, get_rules(), current_app.config["RULES_DIR"])
