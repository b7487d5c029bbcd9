"""Signed webhooks out: the owner's endpoints get events about leads, Standard Webhooks signed.

``signing`` is the pure part (event types, payload, signatures, retry schedule, which addresses
may be called), ``transport`` one POST with its timeouts, ``endpoints`` the owner's endpoints,
``queueing`` the delivery rows (written in the business transaction, published after the commit,
swept by beat, replayed), ``delivery`` the task's side (claim, POST, record the outcome).
"""


def wire() -> None:
    """Follow lead changes (``leads`` emits ``LeadChanged``) and publish after each commit."""
    from coachapp.leads import events
    from coachapp.webhooks_out import queueing

    events.subscribe(queueing.on_lead_changed)
    queueing.listen()
