"""Public forms. They validate shape only; services own the business rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Email, Length


class StepForm(FlaskForm):
    """CSRF only: the step's questions come from rules/ and are cleaned by the engine."""


class StartForm(FlaskForm):
    """CSRF only: starting an assessment creates a resumable submission."""


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ContactForm(FlaskForm):
    first_name = StringField(
        "First name",
        filters=[_strip],
        validators=[DataRequired("Tell us your first name."), Length(max=80)],
        render_kw={"autocomplete": "given-name"},
    )
    email = EmailField(
        "Email",
        filters=[_strip],
        validators=[
            DataRequired("We need your email to send your plan."),
            Length(max=254),
            Email("That doesn't look like an email address.", check_deliverability=False),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    consent_health = BooleanField(
        "I agree that Motive Training may use my answers, including health information "
        "such as pain and injury history, to build my plan and prepare a coaching call.",
        validators=[DataRequired("We can only build your plan with your consent to use these answers.")],
    )
    consent_marketing = BooleanField(
        "Send me follow-up emails with tips for my priorities (unsubscribe any time)."
    )
