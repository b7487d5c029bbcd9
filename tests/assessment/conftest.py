"""Fixtures for the engine tests: the real rules folder, loaded once."""

from __future__ import annotations

import pytest

from coachapp.assessment import Rules, load_rules

from .helpers import RULES_DIR


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules(RULES_DIR)
