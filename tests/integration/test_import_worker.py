"""The lead import in a real Celery worker process (embedded: SQLite + filesystem broker;
services: PostgreSQL + Redis): 2,000 rows published as ``imports.run`` the way the page does
it, progress counted on the job row, no email queued."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.leads import importer
from coachapp.models import Coach, ImportJob, Lead, OutboxMessage, utcnow
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def test_a_worker_runs_the_import(stack):
    celery = stack.app.extensions["celery"]
    with stack.app.app_context():
        owner = Coach(name="Olive Owner", email="olive@motive.example", is_owner=True, time_zone="UTC",
                      working_hours={}, services=[], in_person=True, online=True, active=True)
        db.session.add(owner)
        db.session.commit()
        lines = ["email,first name,stage"] + [f"runner{i}@example.com,R{i},contacted" for i in range(2000)]
        job = importer.create_job("club.csv", ("\n".join(lines) + "\n").encode(), owner, utcnow())
        importer.queue(job)
        db.session.commit()
        stack.start_worker()
        celery.send_task("imports.run", args=(job.id,))
        celery.send_task("imports.run", args=(job.id,))  # a second delivery claims nothing

        def done() -> bool:
            db.session.expire_all()
            return db.session.get(ImportJob, job.id).status in ("done", "failed")

        assert wait_until(done, timeout=90)
        job = db.session.get(ImportJob, job.id)
        assert (job.status, job.processed_rows, job.created_count, job.rejected_count) == ("done", 2000, 2000, 0)
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 2000
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
