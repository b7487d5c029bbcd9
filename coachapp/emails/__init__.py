"""Email: render from template pairs, keep in the outbox, send from a task."""
