"""Celery tasks: thin, named, idempotent; arguments are ids only."""

from coachapp.tasks import assessments, emails, followups, imports, replay, webhooks  # noqa: F401
