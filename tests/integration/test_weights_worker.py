"""The priority-weights fit in a real Celery worker process (embedded: SQLite + filesystem broker;
services: PostgreSQL + Redis): a queued fit published as ``priority.fit`` the way the page does
it (twice: the second delivery claims nothing), the report and the proposed diff stored."""

from __future__ import annotations

import pytest

from coachapp.extensions import db
from coachapp.leads import weight_fits
from coachapp.leads.weights_outcomes import DECIDED_AFTER_DAYS
from coachapp.models import Coach, WeightFit, utcnow
from tests.helpers_weights import seed_outcomes
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def test_a_worker_runs_the_fit(stack):
    celery = stack.app.extensions["celery"]
    with stack.app.app_context():
        owner = Coach(name="Olive Owner", email="olive@motive.example", is_owner=True, time_zone="UTC",
                      working_hours={}, services=[], in_person=True, online=True, active=True)
        db.session.add(owner)
        db.session.commit()
        seeded = seed_outcomes(1500, utcnow())
        fit = weight_fits.queue_fit(owner, None, DECIDED_AFTER_DAYS, utcnow())
        db.session.commit()
        stack.start_worker()
        celery.send_task(weight_fits.FIT_TASK, args=(fit.id,))
        celery.send_task(weight_fits.FIT_TASK, args=(fit.id,))  # a second delivery claims nothing

        def done() -> bool:
            db.session.expire_all()
            return db.session.get(WeightFit, fit.id).status in ("done", "failed")

        assert wait_until(done, timeout=120)
        fit = db.session.get(WeightFit, fit.id)
        assert fit.status == "done", fit.error
        report = weight_fits.report_of(fit)
        assert report.counts.converted == seeded.converted and report.fit.enough
        assert report.fit.auc_suggested > report.fit.auc_current
        assert fit.diff.startswith("--- a/rules/leads/priority.yaml") and fit.seconds > 0
        assert weight_fits.latest_done(None, DECIDED_AFTER_DAYS).id == fit.id
        assert weight_fits.pending(None, DECIDED_AFTER_DAYS) is None
