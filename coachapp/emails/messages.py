"""Render an email from ``templates/email/<name>.{subject.txt,txt,html}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from flask import current_app, render_template

from coachapp.models import OutboxMessage, utcnow
from coachapp.rules_versions import copy_text, email_copy
from coachapp.session_calendar import method_of


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(name: str, copy_from: Mapping[str, Any] | None = None, **context: Any) -> Rendered:
    """Subject, text and HTML; every email gets the sender's name and physical address.

    When the live rules version rewords this email (the owner's editor), its subject replaces the
    template's and its body the opening copy (``owner_intro_html``/``owner_intro_text``).
    ``copy_from``: another version's ``copy`` instead of the live one's (the draft preview)."""
    config = current_app.config
    context = {"business_name": config["BUSINESS_NAME"], "business_address": config["BUSINESS_ADDRESS"], **context}
    override = email_copy.live_override(name) if copy_from is None else email_copy.override_in(copy_from, name)
    if override is not None:
        owner = copy_text.render(override, copy_text.values(name, context))
        context.update(owner_intro_html=owner.html, owner_intro_text=owner.text)
        return Rendered(subject=owner.subject, text=render_template(f"email/{name}.txt", **context),
                        html=render_template(f"email/{name}.html", **context))
    subject = render_template(f"email/{name}.subject.txt", **context)
    return Rendered(
        subject=" ".join(subject.split()),
        text=render_template(f"email/{name}.txt", **context),
        html=render_template(f"email/{name}.html", **context),
    )


def new_message_id(domain: str) -> str:
    return make_msgid(domain=domain)


def to_mime(message: OutboxMessage | Any, sender: str, reply_to: str | None = None) -> EmailMessage:
    """Build the MIME message for an outbox row, or a result row with its columns (multipart/alternative)."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Message-ID"] = message.message_id
    mime["Date"] = format_datetime(utcnow())
    if reply_to:
        mime["Reply-To"] = reply_to
    for key, value in (message.headers or {}).items():
        mime[key] = value
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    if message.ics:  # a session invite: inline (calendar apps show Accept) and as a file
        method = method_of(message.ics)
        mime.add_alternative(message.ics, subtype="calendar", params={"method": method})
        mime.add_attachment(message.ics.encode("utf-8"), maintype="text", subtype="calendar",
                            filename="cancel.ics" if method == "CANCEL" else "invite.ics",
                            params={"method": method})
    return mime
