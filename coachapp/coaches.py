"""Coach management, shared by the CLI and the owner's dashboard page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select

from coachapp.auth.passwords import hash_password, password_problem
from coachapp.extensions import db
from coachapp.leads.services import InvalidEmail, normalize_email
from coachapp.leads.worktime import parse_working_hours
from coachapp.models import SERVICES, Coach
from coachapp.textclean import clean_name

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CoachError(ValueError):
    """Bad coach data; ``field`` names the input it belongs to."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class CoachExists(CoachError):
    pass


@dataclass(frozen=True)
class CoachData:
    name: str
    email: str
    time_zone: str = "America/Chicago"
    hours: str = "mon-fri 09:00-17:00"
    services: list[str] = field(default_factory=lambda: list(SERVICES))
    in_person: bool = True
    online: bool = True
    is_owner: bool = False
    password: str | None = None


def parse_hours(text: str) -> dict[str, list[str]]:
    """'mon-fri 09:00-17:00; sat 09:00-12:00' → {"mon": ["09:00-17:00"], …, "sat": [...]}."""
    hours: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, *windows = part.split()
        first, _, last = days.lower().partition("-")
        if first not in DAYS or (last and last not in DAYS) or not windows:
            raise CoachError("hours", f"'{part}': days are mon…sun, e.g. 'mon-fri 09:00-17:00'")
        for day in DAYS[DAYS.index(first): DAYS.index(last or first) + 1]:
            hours.setdefault(day, []).extend(windows)
    return hours


def create_coach(data: CoachData) -> Coach:
    """Validate and add a coach (flushes). Raises CoachError naming the bad field."""
    name = clean_name(data.name, limit=200) or ""  # one line, no control characters
    if not name or len(name) > 120:
        raise CoachError("name", "Enter a name (up to 120 characters).")
    try:
        email, _ = normalize_email(data.email)
    except InvalidEmail as exc:
        raise CoachError("email", "That doesn't look like an email address.") from exc
    working = parse_hours(data.hours)
    try:
        parse_working_hours(working, tz=data.time_zone)
    except ValueError as exc:  # also an unknown time zone
        raise CoachError("hours", str(exc)) from exc
    unknown = [s for s in data.services if s not in SERVICES]
    if unknown:
        raise CoachError("services", f"Unknown service {unknown[0]!r}; choose from {', '.join(SERVICES)}.")
    if db.session.execute(select(Coach.id).where(Coach.email == email)).first():
        raise CoachExists("email", f"A coach with email {email} already exists.")
    coach = Coach(name=name, email=email, time_zone=data.time_zone, working_hours=working,
                  services=list(data.services), in_person=data.in_person, online=data.online,
                  is_owner=data.is_owner, active=True)
    if data.password is not None:
        set_password(coach, data.password)
    db.session.add(coach)
    db.session.flush()
    return coach


def set_password(coach: Coach, password: str) -> None:
    """Set the password and end every existing session of this coach."""
    problem = password_problem(password)
    if problem:
        raise CoachError("password", problem)
    coach.password_hash = hash_password(password)
    coach.session_token = secrets.token_urlsafe(32)


def set_active(coach: Coach, active: bool, by: Coach) -> None:
    if coach.id == by.id and not active:
        raise CoachError("active", "You can't deactivate yourself.")
    coach.active = active
    if not active:
        coach.session_token = secrets.token_urlsafe(32)  # signed out everywhere
