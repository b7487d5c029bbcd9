"""Migrations are the schema: one head, upgrade/downgrade both work, and the
models match what the migrations build (no drift)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from coachapp.extensions import db
from tests.conftest import ROOT, make_config


def test_single_head():
    from alembic.config import Config

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


# SQLite's reflection cannot read an expression index (lower(to_address)); PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(tmp_path):
    from coachapp import create_app

    scratch = create_app(make_config(f"sqlite:///{tmp_path / 'scratch.sqlite'}"))
    with scratch.app_context():
        upgrade()
        assert "leads" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert "leads" not in inspect(db.engine).get_table_names()
        upgrade()
        assert {"leads", "lead_events", "assessment_submissions", "outbox_messages"} <= set(
            inspect(db.engine).get_table_names()
        )
