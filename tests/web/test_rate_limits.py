"""Rate limits on the public forms and the API: a clear 429, not a crash."""

from __future__ import annotations

from coachapp.public.views import START_LIMIT
from tests.conftest import Browserish


def test_starting_assessments_is_rate_limited_per_address(rate_limited_app):
    limit = int(START_LIMIT.split("/")[0])
    with rate_limited_app.app_context():
        web = Browserish(rate_limited_app.test_client())
        web.get("/assessment")
        responses = [web.post("/assessment/start") for _ in range(limit + 1)]
    codes = [r.status_code for r in responses]
    assert codes[:limit] == [302] * limit
    assert codes[-1] == 429
    page = responses[-1].get_data(as_text=True)
    assert "That was a lot in a short time" in page and "per 1 hour" not in page


def test_api_limit_answers_json(rate_limited_app):
    client = rate_limited_app.test_client()
    codes = [client.post("/api/v1/assessments", json={}).status_code for _ in range(60)]
    response = client.post("/api/v1/assessments", json={})
    assert codes == [422] * 60
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
