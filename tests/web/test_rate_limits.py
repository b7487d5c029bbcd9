"""Rate limits on the public forms and the API: a clear 429, not a crash."""

from __future__ import annotations

from coachapp import create_app
from coachapp.public.views import START_LIMIT
from tests.conftest import Browserish, dispose, make_config


def test_starting_assessments_is_rate_limited_per_address(app, database_url):
    """(`app` makes sure the migrations ran on this database.)"""
    limited = create_app(make_config(database_url, RATELIMIT_ENABLED=True,
                                     RATELIMIT_STORAGE_URI="memory://"))
    limit = int(START_LIMIT.split("/")[0])
    with limited.app_context():
        web = Browserish(limited.test_client())
        web.get("/assessment")
        codes = [web.post("/assessment/start").status_code for _ in range(limit + 1)]
    dispose(limited)
    assert codes[:limit] == [302] * limit
    assert codes[-1] == 429


def test_api_limit_answers_json(database_url):
    app = create_app(make_config(database_url, RATELIMIT_ENABLED=True,
                                 RATELIMIT_STORAGE_URI="memory://"))
    client = app.test_client()
    codes = [client.post("/api/v1/assessments", json={}).status_code for _ in range(61)]
    assert codes[:60] == [422] * 60
    response = client.post("/api/v1/assessments", json={})
    dispose(app)
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
