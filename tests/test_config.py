"""Configuration from the environment: embedded default vs real services."""

from __future__ import annotations

from coachapp.config import celery_settings, database_url, from_env
from coachapp.public.tracking import capture


def test_database_url_defaults_to_sqlite_and_normalises_postgres(tmp_path):
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'coachapp.sqlite'}"
    assert database_url("postgres://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"


def test_broker_is_filesystem_by_default_and_redis_when_set(tmp_path):
    embedded = celery_settings({}, tmp_path)
    assert embedded["broker_url"] == "filesystem://"
    assert embedded["broker_transport_options"]["data_folder_in"].startswith(str(tmp_path))
    real = celery_settings({"REDIS_URL": "redis://r:6379/0"}, tmp_path)
    assert real["broker_url"] == "redis://r:6379/0"
    assert real["task_acks_late"] and real["task_reject_on_worker_lost"]
    assert real["beat_schedule"]["outbox-sweep"]["task"] == "outbox.sweep"


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = from_env({}, tmp_path)["SECRET_KEY"]
    assert len(first) >= 40
    assert from_env({}, tmp_path)["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert from_env({"SECRET_KEY": "given"}, tmp_path)["SECRET_KEY"] == "given"


def test_smtp_unset_means_capture(tmp_path):
    assert from_env({}, tmp_path)["SMTP_URL"] is None
    assert from_env({"SMTP_URL": "smtp://h:25"}, tmp_path)["SMTP_URL"] == "smtp://h:25"


def test_first_touch_keeps_utm_and_outside_referrers_only():
    touch = capture({"utm_source": "strava", "utm_medium": "social", "other": "x"},
                    "https://www.strava.com/x", "https://coach.test/assessment?utm_source=strava",
                    "coach.test")
    assert touch["utm_source"] == "strava" and "other" not in touch
    assert touch["referrer_host"] == "www.strava.com"
    internal = capture({}, "https://coach.test/somewhere", "https://coach.test/assessment", "coach.test")
    assert "referrer" not in internal
