"""Hostile-input suite: hypothesis and schemathesis against the WSGI app, in process.

One app on its own PostgreSQL database (the backend that refuses NUL and so turned hostile
input into 500s), CSRF and rate limits off so generated input reaches the forms and services.
How much is generated: ``HOSTILE_EXAMPLES`` (examples per property) if set; else a few
thousand requests in all on CI (``CI=true``) and a quick pass locally.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from tests.conftest import (
    ON_CI,
    POSTGRES_URL,
    PostgresDatabase,
    clean_tables,
    dispose,
    make_config,
    migrate_up,
    require,
)

# Hypothesis keeps caches (found constants, Unicode tables) in a home directory: not the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "coachapp-hypothesis")

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES") or (200 if ON_CI else 30))


def hostile_settings(share: float = 1.0) -> settings:
    """Settings for one property: ``share`` of EXAMPLES (slow properties take less)."""
    return settings(
        max_examples=max(5, int(EXAMPLES * share)),
        deadline=None,  # 2 busy cores: timing is not the property
        database=None,  # no example database: each run draws afresh (print_blob reproduces a failure)
        derandomize=False,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="session")
def hostile_app() -> Iterator[Any]:
    require(POSTGRES_URL, "PostgreSQL")
    from coachapp import create_app

    database = PostgresDatabase(POSTGRES_URL)
    application = create_app(make_config(database.create(), WTF_CSRF_ENABLED=False))
    migrate_up(application)
    try:
        yield application
    finally:
        dispose(application)
        database.drop()


@pytest.fixture
def fuzz_app(hostile_app) -> Any:
    """The hostile app with empty tables (no app context pushed: each request brings its own)."""
    clean_tables(hostile_app)
    return hostile_app


@pytest.fixture
def dashboard_site(fuzz_app) -> Any:
    """``fuzz_app`` seeded for the dashboard's hostile tests (``tests/hostile/dashboard_site.py``)."""
    from tests.hostile.dashboard_site import build_site

    return build_site(fuzz_app)
