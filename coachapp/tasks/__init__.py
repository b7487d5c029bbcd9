"""Celery tasks: thin, named, idempotent; arguments are ids only."""

from coachapp.tasks import assessments, emails, followups, imports, replay, webhooks, weights  # noqa: F401
