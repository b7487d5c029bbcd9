"""Public forms. They validate shape only; services own the business rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from coachapp.public.antispam import HumanCheck


class StepForm(FlaskForm):
    """CSRF only: the step's questions come from rules/ and are cleaned by the engine."""


class StartForm(FlaskForm):
    """CSRF only: starting an assessment creates a resumable submission."""


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ContactForm(HumanCheck, FlaskForm):
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

DEALING_WITH = [
    ("pain", "Something hurts"),
    ("injury", "Coming back from an injury"),
    ("stalled", "My training has stalled"),
    ("structure", "I want more structure than a gym gives me"),
    ("performance", "I want to run or move better"),
    ("general_health", "General health and staying active"),
    ("not_running", "I don't run (yet)"),
]
SERVICE_CHOICES = [
    ("personal_training", "Personal training"),
    ("mobility_coaching", "Mobility coaching"),
    ("kinstretch", "KINSTRETCH classes"),
    ("online_coaching", "Online coaching"),
    ("not_sure", "Not sure yet — help me choose"),
]
DELIVERY = [("in_person", "In person — I live in or near Austin, TX"), ("online", "Online"),
            ("either_near", "Either — I live in or near Austin"), ("either_far", "Either — I live further away")]
START_TIMING = [
    ("asap", "As soon as possible"),
    ("within_month", "Within a month"),
    ("within_3_months", "In the next 3 months"),
    ("exploring", "Just exploring for now"),
]
CONTACT_METHODS = [("phone", "Phone call"), ("text", "Text message"), ("email", "Email")]
CONTACT_TIMES = [("mornings", "Mornings"), ("afternoons", "Afternoons"), ("evenings", "Evenings")]


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


#: The zones most runners here pick, named the way people say them, listed first.
COMMON_ZONES = {
    "America/New_York": "Eastern Time", "America/Chicago": "Central Time",
    "America/Denver": "Mountain Time", "America/Phoenix": "Mountain Time (Arizona, no DST)",
    "America/Los_Angeles": "Pacific Time", "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time", "America/Toronto": "Eastern Time (Canada)",
    "Europe/London": "UK time", "Europe/Berlin": "Central European Time",
}


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "−"), abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def zone_label(zone: str, now: datetime) -> str:
    place = zone.rsplit("/", 1)[-1].replace("_", " ")
    name = COMMON_ZONES.get(zone)
    where = name or zone.split("/")[0]
    return f"{where} — {place} ({_offset(zone, now)})" if name else f"{place} — {where} ({_offset(zone, now)})"


@lru_cache(maxsize=1)
def _canonical_zones() -> frozenset[str]:
    """Zones listed in tzdata's zone1970.tab (no old aliases such as Asia/Calcutta), if present."""
    for path in ("/usr/share/zoneinfo/zone1970.tab", "/usr/share/zoneinfo/zone.tab"):
        try:
            with open(path, encoding="utf-8") as tab:
                return frozenset(line.split("\t")[2].strip() for line in tab
                                 if line.strip() and not line.startswith("#"))
        except OSError:
            continue
    return frozenset()


@cache
def _offered_zones() -> tuple[str, ...]:
    """The zones offered after the common ones, computed once per process: listing tzdata
    (``available_timezones()`` walks the whole zoneinfo folder, ~4-10 ms) is not per-request work."""
    canonical = _canonical_zones()
    return tuple(sorted(z for z in available_timezones()
                        if "/" in z and not z.startswith(("Etc/", "SystemV/"))
                        and z not in COMMON_ZONES and (not canonical or z in canonical)))


@lru_cache(maxsize=2)
def _zone_choices(day: date) -> tuple[SelectChoice, ...]:
    """Labels carry the UTC offset of that day (DST), so they are rebuilt once a day."""
    now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    common = [SelectChoice(z, zone_label(z, now)) for z in COMMON_ZONES]
    rest = sorted((SelectChoice(z, zone_label(z, now)) for z in _offered_zones()), key=lambda c: c.label)
    return tuple(common + rest)


def time_zone_choices() -> list[SelectChoice]:
    """Friendly names ("Central Time — Chicago (UTC−6)"); the value stays the IANA id."""
    return list(_zone_choices(datetime.now(UTC).date()))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _StrategyBase(HumanCheck, FlaskForm):
    """What both versions of the strategy-session form ask (shape only; the service decides)."""

    goals = TextAreaField("What would you like help with?", filters=[_strip],
                          validators=[DataRequired("Tell us a little about your goal."), Length(max=2000)],
                          description="A race, running without pain, moving better, getting stronger…")
    services = MultiCheckboxField("Which service interests you?", choices=choices(SERVICE_CHOICES),
                                  validators=[DataRequired("Choose at least one — or “Not sure yet”.")])
    delivery = RadioField("In person or online?", choices=choices(DELIVERY),
                          validators=[DataRequired("Choose in person, online or either.")])
    preferred_contact = RadioField("How should we reach you?", choices=choices(CONTACT_METHODS),
                                   validators=[DataRequired("Choose how we should reach you.")])
    phone = TelField("Phone", filters=[_strip], validators=[Optional(), Length(max=32)],
                     render_kw={"autocomplete": "tel", "inputmode": "tel"},
                     description="Needed for a call or a text. US numbers as you'd dial them; others with +.")
    time_zone = SelectField("Your time zone", choices=[], validators=[DataRequired("Choose your time zone.")],
                            description="So we call at a sensible hour for you.")
    consent = BooleanField(
        "I agree that Motive Training may use what I share here, including anything about injuries or "
        "health, to prepare for and follow up on my strategy session.",
        validators=[DataRequired("We need your consent to use this information to prepare your session.")])
    assessment_token = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the one that needs two fields (Optional() would skip it)."""
        valid = super().validate(extra_validators)
        if self.preferred_contact.data in ("phone", "text") and not self.phone.data:
            self.phone.errors.append("Add a phone number so we can call or text you — or choose email.")
            valid = False
        return valid


class StrategySessionForm(_StrategyBase):
    """The standalone "Book a Free Strategy Session" form (no recent assessment): 12 fields."""

    first_name = StringField("First name", filters=[_strip],
                             validators=[DataRequired("Tell us your first name."), Length(max=80)],
                             render_kw={"autocomplete": "given-name"})
    email = EmailField("Email", filters=[_strip], validators=[
        DataRequired("We need your email to confirm your session."), Length(max=254),
        Email("That doesn't look like an email address.", check_deliverability=False)],
        render_kw={"autocomplete": "email", "inputmode": "email"})
    dealing_with = MultiCheckboxField("What are you dealing with?", choices=choices(DEALING_WITH))
    start_timing = RadioField("When would you like to start?", choices=choices(START_TIMING),
                              validators=[DataRequired("Choose when you'd like to start.")])
    health_check = MultiCheckboxField(
        "Do any of these apply to you right now?", choices=[],
        description="Tick any that apply — leave them all empty if none do. It helps us keep you safe.")

    FIELDS = ("first_name", "email", "goals", "dealing_with", "services", "delivery", "start_timing",
              "health_check", "preferred_contact", "phone", "time_zone", "consent")


class QuickStrategyForm(_StrategyBase):
    """From a recent assessment: only what is new (8 fields); the rest comes from the assessment."""

    contact_times = MultiCheckboxField("When is best?", choices=choices(CONTACT_TIMES))

    FIELDS = ("goals", "services", "delivery", "preferred_contact", "contact_times", "phone",
              "time_zone", "consent")


class SlotForm(FlaskForm):
    """CSRF only: the slot (``start``) is one of the free slots, checked by the service."""


class CancelForm(FlaskForm):
    """CSRF only: cancelling a session is a POST after a confirmation page."""
