"""ORM models (SQLAlchemy 2.0 style); import them from here."""

from coachapp.models.base import Base, utcnow
from coachapp.models.booking import Booking, WebhookEvent
from coachapp.models.coach import SERVICES, Coach
from coachapp.models.followup import Enrollment, SequenceStep
from coachapp.models.imports import ImportJob, LeadMerge
from coachapp.models.insights import InsightSnapshot
from coachapp.models.lead import STAGES, Lead, LeadEvent
from coachapp.models.outbox import OutboxMessage
from coachapp.models.rules_replay import RulesReplay
from coachapp.models.rules_version import RULES_STATUSES, RulesAudit, RulesVersion
from coachapp.models.strategy import CoachTask, StrategyRequest
from coachapp.models.submission import AssessmentSubmission
from coachapp.models.visit import PageVisit
from coachapp.models.webhook_out import WebhookDelivery, WebhookEndpoint
from coachapp.models.weights import WeightFit

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
    "RULES_STATUSES",
    "RulesAudit",
    "RulesReplay",
    "RulesVersion",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WeightFit",
    "utcnow",
]
