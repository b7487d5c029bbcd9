"""Public forms. They validate shape only; services own the business rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


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
    time_zone = SelectField("Your time zone", choices=[], validators=[DataRequired("Choose your time zone.")],
                            description="So our emails reach you in the daytime.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()


# --- Free Strategy Session ------------------------------------------------------------------

RUNNING_HISTORY = [
    ("", "Choose one"),
    ("not_running", "I don't run (yet)"),
    ("<1", "Less than a year"),
    ("1-2", "1–2 years"),
    ("2-5", "2–5 years"),
    ("5+", "More than 5 years"),
]
DEALING_WITH = [
    ("pain", "Something hurts"),
    ("injury", "Coming back from an injury"),
    ("stalled", "My training has stalled"),
    ("structure", "I want more structure than a gym gives me"),
    ("performance", "I want to run or move better"),
    ("general_health", "General health and staying active"),
]
SERVICE_CHOICES = [
    ("personal_training", "Personal training"),
    ("mobility_coaching", "Mobility coaching"),
    ("kinstretch", "KINSTRETCH classes"),
    ("online_coaching", "Online coaching"),
    ("not_sure", "Not sure yet — help me choose"),
]
DELIVERY = [("in_person", "In person (Austin, TX)"), ("online", "Online"), ("either", "Either works")]
YES_NO = [("yes", "Yes"), ("no", "No")]
START_TIMING = [
    ("asap", "As soon as possible"),
    ("within_month", "Within a month"),
    ("within_3_months", "In the next 3 months"),
    ("exploring", "Just exploring for now"),
]
CONTACT_METHODS = [("phone", "Phone call"), ("text", "Text message"), ("email", "Email")]
CONTACT_TIMES = [("mornings", "Mornings"), ("afternoons", "Afternoons"), ("evenings", "Evenings")]
HEARD_ABOUT = [
    ("", "Choose one (optional)"),
    ("google", "Google search"),
    ("instagram", "Instagram"),
    ("facebook", "Facebook"),
    ("friend", "A friend or client"),
    ("race_event", "A race or event"),
    ("strava", "Strava or a running club"),
    ("assessment", "The Runner Assessment"),
    ("other", "Somewhere else"),
]


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def time_zone_choices() -> list[SelectChoice]:
    from zoneinfo import available_timezones

    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [SelectChoice(zone, zone.replace("_", " ")) for zone in zones]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StrategySessionForm(FlaskForm):
    """The "Book a Free Strategy Session" intake. Shape only; the service decides the rest."""

    first_name = StringField("First name", filters=[_strip],
                             validators=[DataRequired("Tell us your first name."), Length(max=80)],
                             render_kw={"autocomplete": "given-name"})
    last_name = StringField("Last name", filters=[_strip], validators=[Optional(), Length(max=80)],
                            render_kw={"autocomplete": "family-name"})
    email = EmailField("Email", filters=[_strip], validators=[
        DataRequired("We need your email to confirm your session."), Length(max=254),
        Email("That doesn't look like an email address.", check_deliverability=False)],
        render_kw={"autocomplete": "email", "inputmode": "email"})
    phone = TelField("Phone", filters=[_strip], validators=[Optional(), Length(max=32)],
                     render_kw={"autocomplete": "tel", "inputmode": "tel"},
                     description="US numbers as you'd dial them; others with + and country code.")
    goals = TextAreaField("What are you working toward?", filters=[_strip],
                          validators=[DataRequired("Tell us a little about your goal."), Length(max=2000)],
                          description="A race, running without pain, moving better, getting stronger…")
    running_history = SelectField("How long have you been running?", choices=choices(RUNNING_HISTORY),
                                  validators=[DataRequired("Choose one.")])
    weekly_km = IntegerField("About how far do you run in a typical week? (km)",
                             validators=[Optional(), NumberRange(0, 300, "Enter 0 to 300 km.")],
                             description="1 mile ≈ 1.6 km. Leave empty if you don't run.",
                             render_kw={"inputmode": "numeric"})
    race_name = StringField("Any race coming up?", filters=[_strip], validators=[Optional(), Length(max=120)],
                            description="e.g. Austin Marathon")
    race_date = DateField("Race date", validators=[Optional()])
    dealing_with = MultiCheckboxField("What are you dealing with?", choices=choices(DEALING_WITH))
    limitations = TextAreaField("Injuries, conditions or limitations we should know about", filters=[_strip],
                                validators=[Optional(), Length(max=2000)])
    services = MultiCheckboxField("Which service interests you?", choices=choices(SERVICE_CHOICES),
                                  validators=[DataRequired("Choose at least one — or “Not sure yet”.")])
    delivery = RadioField("In person or online?", choices=choices(DELIVERY),
                          validators=[DataRequired("Choose in person, online or either.")])
    in_area = RadioField("Do you live in or near Austin, TX?", choices=choices(YES_NO), validators=[Optional()])
    start_timing = RadioField("When would you like to start?", choices=choices(START_TIMING),
                              validators=[DataRequired("Choose when you'd like to start.")])
    health_check = MultiCheckboxField(
        "Do any of these apply to you right now?", choices=[],
        description="Tick any that apply — leave them all empty if none do. It helps us keep you safe.")
    preferred_contact = RadioField("How should we reach you?", choices=choices(CONTACT_METHODS),
                                   validators=[DataRequired("Choose how we should reach you.")])
    contact_times = MultiCheckboxField("When is best?", choices=choices(CONTACT_TIMES))
    time_zone = SelectField("Your time zone", choices=[], validators=[DataRequired("Choose your time zone.")],
                            description="So we call at a sensible hour for you.")
    heard_about = SelectField("How did you hear about us?", choices=choices(HEARD_ABOUT), validators=[Optional()])
    consent = BooleanField(
        "I agree that Motive Training may use what I share here, including anything about injuries or "
        "health, to prepare for and follow up on my strategy session.",
        validators=[DataRequired("We need your consent to use this information to prepare your session.")])
    consent_marketing = BooleanField("Send me occasional tips and news (unsubscribe any time).")
    assessment_token = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()

    def validate_race_date(self, field) -> None:
        from datetime import date, timedelta

        if field.data and field.data < date.today() - timedelta(days=1):
            raise ValidationError("That date has passed — leave it empty if there's no race coming up.")
        if field.data and field.data > date.today() + timedelta(days=3 * 365):
            raise ValidationError("Enter a date within the next three years.")

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the ones that need two fields (Optional() would skip them)."""
        valid = super().validate(extra_validators)
        if self.delivery.data == "in_person" and not self.in_area.data:
            self.in_area.errors.append("Tell us whether you're near Austin, so we know if we can meet in person.")
            valid = False
        if self.preferred_contact.data in ("phone", "text") and not self.phone.data:
            self.phone.errors.append("Add a phone number so we can call or text you — or choose email.")
            valid = False
        return valid
