"""ORM models (SQLAlchemy 2.0 style); import them from here."""

from coachapp.models.base import Base, utcnow
from coachapp.models.booking import Booking, WebhookEvent
from coachapp.models.coach import SERVICES, Coach
from coachapp.models.followup import Enrollment, SequenceStep
from coachapp.models.imports import ImportJob, LeadMerge
from coachapp.models.insights import InsightSnapshot
from coachapp.models.lead import STAGES, Lead, LeadEvent
from coachapp.models.outbox import OutboxMessage
from coachapp.models.strategy import CoachTask, StrategyRequest
from coachapp.models.submission import AssessmentSubmission
from coachapp.models.visit import PageVisit
from coachapp.models.webhook_out import WebhookDelivery, WebhookEndpoint

__all__ = [
    "SERVICES",
    "STAGES",
    "Coach",
    "CoachTask",
    "Enrollment",
    "SequenceStep",
    "StrategyRequest",
    "AssessmentSubmission",
    "Base",
    "ImportJob",
    "InsightSnapshot",
    "LeadMerge",
    "Booking",
    "Lead",
    "LeadEvent",
    "OutboxMessage",
    "PageVisit",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "utcnow",
]
