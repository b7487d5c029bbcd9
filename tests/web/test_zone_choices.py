"""The forms' time-zone choices: tzdata is listed once per process, the choices are unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import available_timezones

from coachapp.public import forms


def _reference_choices(day: date) -> tuple[forms.SelectChoice, ...]:
    """The choices as built before the cache: every request listed tzdata again."""
    now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    common = [forms.SelectChoice(z, forms.zone_label(z, now)) for z in forms.COMMON_ZONES]
    canonical = forms._canonical_zones()
    rest = sorted((forms.SelectChoice(z, forms.zone_label(z, now)) for z in zones
                   if z not in forms.COMMON_ZONES and (not canonical or z in canonical)),
                  key=lambda c: c.label)
    return tuple(common + rest)


def test_choices_are_the_same_as_listing_tzdata_each_time():
    for day in (date(2026, 1, 15), date(2026, 7, 15)):  # both sides of DST
        assert forms._zone_choices(day) == _reference_choices(day)


def test_tzdata_is_listed_once_per_process(monkeypatch):
    calls = []

    def counting() -> set[str]:
        calls.append(1)
        return available_timezones()

    monkeypatch.setattr(forms, "available_timezones", counting)
    forms._offered_zones.cache_clear()
    forms._zone_choices.cache_clear()
    try:
        for day in (date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)):
            forms._zone_choices(day)
        forms.time_zone_choices()
        forms.time_zone_choices()
        assert len(calls) == 1
    finally:
        forms._offered_zones.cache_clear()
        forms._zone_choices.cache_clear()
