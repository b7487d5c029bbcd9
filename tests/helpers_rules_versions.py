"""Rules versions in tests: an edited copy of rules/, a draft made from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

OLD_LABEL = "How old are you?"
NEW_LABEL = "What is your age, in years?"
LABEL_FILE = "assessment/runner_assessment.yaml"


def edited_copy(tmp_path: Path, old: str = OLD_LABEL, new: str = NEW_LABEL, rel: str = LABEL_FILE,
                name: str = "edited") -> Path:
    """A copy of rules/ with one text replaced (once)."""
    folder = tmp_path / name
    shutil.copytree(ROOT / "rules", folder)
    target = folder / rel
    text = target.read_text(encoding="utf-8")
    assert old in text, old
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def import_draft(folder: Path, note: str = ""):
    """``services.create_draft`` from a folder, committed, as the CLI does."""
    from coachapp.assessment import read_texts
    from coachapp.emails import outbox
    from coachapp.models import utcnow
    from coachapp.rules_versions import services

    errors: list[str] = []
    texts = read_texts(folder, errors)
    assert not errors, errors
    version = services.create_draft(texts, services.Actor.cli(), utcnow(), note=note)
    outbox.commit()
    return version


@pytest.fixture
def versions_cleared(db_app):
    """After the test, no rules version is left published in the shared test database, nor
    remembered by the session's app (tests that use ``app`` without emptying tables follow)."""
    yield
    from sqlalchemy import delete

    from coachapp import rules_store
    from coachapp.extensions import db
    from coachapp.models import RulesAudit, RulesVersion

    db.session.rollback()
    db.session.execute(delete(RulesAudit))
    db.session.execute(delete(RulesVersion))
    db.session.commit()
    rules_store.forget()
