"""Automated follow-up sequences.

``policy`` is the pure half: the sequences in ``rules/sequences.yaml`` (loaded with every other
rule file as ``rules.sequences``), planning each step's due time inside its send window, and
the stop rules re-checked at send time. Scheduling (rows with due times) and sending live in
the services and tasks that build on it.
"""


def wire() -> None:
    """Follow lead changes: ``leads`` emits ``LeadChanged``; the sequences re-plan and start."""
    from coachapp.followups.services import on_lead_changed
    from coachapp.leads import events

    events.subscribe(on_lead_changed)
