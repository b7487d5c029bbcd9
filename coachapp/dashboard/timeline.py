"""The lead page as a story: the timeline a coach reads, and the header's plain words.

Read side only. The stored ``LeadEvent`` rows stay as they were written; this module groups
them (an email's queued → sent → failed is one entry, with the email itself to open), turns
internal ids into the names in ``rules/`` (sequences), puts every time in the coach's zone and
moves system detail (ids, statuses, rule versions) into ``details`` for a toggle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from coachapp.followups.policy import SequenceRules
from coachapp.models import CoachTask, Lead, LeadEvent, OutboxMessage

#: What each event kind is called on the timeline.
LABELS = {
    "lead_created": "New lead", "consent": "Consent", "assessment_completed": "Assessment",
    "strategy_requested": "Session request", "red_flag": "Red flag", "priority": "Tier",
    "assignment": "Owner", "task": "Task", "call": "Call", "note": "Note", "stage": "Stage",
    "replied": "Replied", "sequence": "Follow-up", "email": "Email", "email_suppressed": "Email not sent",
    "bounced": "Bounced", "unsubscribed": "Unsubscribed", "erased": "Erased", "booking": "Booking",
    "retake": "Retake",
}
EMAIL_EVENTS = {"email_queued": "queued", "email_sent": "sent", "email_failed": "failed"}
#: ``data`` keys the entry already says in words (everything else is system detail).
SHOWN = {"by", "due"}
_ISO = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?")
_SEQUENCE = re.compile(r"'([a-z0-9_]+)(?:/([a-z0-9_]+))?'")

Format = Callable[[datetime], str]


@dataclass
class Entry:
    at: datetime
    kind: str  # css hook: the event kind, or "email"
    label: str
    text: str
    anchor: str
    due: datetime | None = None
    email: OutboxMessage | None = None
    history: list[tuple[str, datetime]] = field(default_factory=list)  # email: (queued|sent|failed, when)
    details: list[tuple[str, str]] = field(default_factory=list)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _due(data: Mapping[str, Any]) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(str(data["due"]))) if data.get("due") else None
    except ValueError:
        return None


def plain(summary: str, sequences: SequenceRules, fmt: Format) -> str:
    """Sequence ids → their names; ISO times (older events wrote them) → the coach's zone."""
    by_id = {s.id: s for s in sequences.sequences}

    def sequence(match: re.Match[str]) -> str:
        seq = by_id.get(match.group(1))
        if seq is None:
            return match.group(0)
        step = next((s for s in seq.steps if s.id == match.group(2)), None)
        what = sequences.templates.get(step.template, "") if step else ""
        return f"“{seq.title}”" + (f" — {what.rstrip('.')}" if what else "")

    def moment(match: re.Match[str]) -> str:
        try:
            return fmt(_aware(datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))))
        except ValueError:
            return match.group(0)

    return _ISO.sub(moment, _SEQUENCE.sub(sequence, summary))


def build(events: Iterable[LeadEvent], emails: Iterable[OutboxMessage], sequences: SequenceRules,
          fmt: Format) -> list[Entry]:
    """Newest first; one entry per email however many events it had."""
    by_id = {m.id: m for m in emails}
    entries: list[Entry] = []
    email_entry: dict[int, Entry] = {}
    for event in sorted(events, key=lambda e: (_aware(e.created_at), e.id)):
        data = event.data or {}
        at = _aware(event.created_at)
        outbox_id = event.email_id
        if event.kind in EMAIL_EVENTS and outbox_id is not None:
            entry = email_entry.get(outbox_id)
            if entry is None:
                message = by_id.get(outbox_id)
                entry = Entry(at, "email", LABELS["email"], message.subject if message else
                              event.summary.split(": ", 1)[-1], f"email-{outbox_id}", email=message,
                              details=[("email kind", str(data.get("kind", ""))), ("outbox id", str(outbox_id))]
                              + ([("purpose", message.purpose_key)] if message else []))
                email_entry[outbox_id] = entry
                entries.append(entry)
            entry.history.append((EMAIL_EVENTS[event.kind], at))
            continue
        details = [(k.replace("_", " "), str(v)) for k, v in data.items() if k not in SHOWN and v is not None]
        entries.append(Entry(at, event.kind, LABELS.get(event.kind, event.kind.replace("_", " ").capitalize()),
                             plain(event.summary, sequences, fmt), f"event-{event.id}", due=_due(data),
                             details=details))
    entries.reverse()
    return entries


def email_status(lead: Lead) -> str:
    """Which emails the person gets, in words (the stop rules' order: the strongest first)."""
    if lead.erased_at:
        return "Erased: no emails."
    if lead.unsubscribed_all_at:
        return "Unsubscribed from all emails."
    if lead.bounced_at:
        return "Their address bounced: no emails are sent."
    if lead.unsubscribed_sales_at:
        return "Unsubscribed from tips and sales emails; still gets their plan and direct replies."
    if lead.consent_marketing_at:
        return "Gets follow-up emails (opted in)."
    return "Did not opt in to follow-up emails: only their plan and direct replies."


def health_consent(lead: Lead, fmt: Format) -> str:
    if lead.consent_health_at:
        return f"Agreed to the use of their health answers on {fmt(lead.consent_health_at)}."
    return "No consent to use health answers."


def next_task(tasks: Iterable[CoachTask]) -> CoachTask | None:
    open_tasks = [t for t in tasks if t.status == "open"]
    return min(open_tasks, key=lambda t: _aware(t.due_at)) if open_tasks else None


def step_label(sequences: SequenceRules, sequence_id: str, step_id: str) -> str:
    """A sequence step as the coach knows it: what the email says, from ``rules/sequences.yaml``."""
    seq = next((s for s in sequences.sequences if s.id == sequence_id), None)
    step = next((s for s in seq.steps if s.id == step_id), None) if seq else None
    what = sequences.templates.get(step.template, "") if step else ""
    return what.rstrip(".") or step_id.replace("_", " ")


@dataclass(frozen=True)
class RulesUsed:
    """Which rules a result or an email came from, as the lead page says it."""

    text: str  # "rules v3 (1245f122)" or "the shipped rules files (1245f122)"
    number: int | None  # the version to link to


def rules_used(hashes: Iterable[str | None], versions: Mapping[str, Any], files_hash: str) -> dict[str, RulesUsed]:
    """Content hash → words; ``versions``: hash → ``RulesVersion`` (``rules_versions.services.by_hash``)."""
    out = {}
    for h in {h for h in hashes if h}:
        short = h.removeprefix("sha256:")[:8]
        version = versions.get(h)
        if version is not None:
            out[h] = RulesUsed(f"rules v{version.number} ({short})", version.number)
        elif h == files_hash:
            out[h] = RulesUsed(f"the shipped rules files ({short})", None)
        else:
            out[h] = RulesUsed(f"rules {short} (files of an earlier release)", None)
    return out
