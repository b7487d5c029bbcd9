"""JSON API v1: definitions, scoring with and without storing, per-field errors, OpenAPI."""

from __future__ import annotations

from sqlalchemy import func, select

from coachapp.extensions import db
from coachapp.models import AssessmentSubmission, Lead, OutboxMessage
from coachapp.rules_store import get_rules
from tests.helpers import CHEST_PAIN, CONTACT, DESK_ACHILLES


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_definitions_list_every_section_and_question(db_app):
    client = db_app.test_client()
    body = client.get("/api/v1/assessment").get_json()
    rules = get_rules()
    assert body["rules_version"] == rules.version
    assert body["estimated_seconds"] == rules.assessment.core_seconds() <= 120
    ids = [q["id"] for s in body["sections"] for q in s["questions"]]
    assert ids == [q.id for q in rules.assessment.questions]
    symptoms = next(q for s in body["sections"] for q in s["questions"] if q["id"] == "sf_screen")
    assert {"value": "none", "label": "None of these", "exclusive": True} in symptoms["options"]
    race = next(q for s in body["sections"] for q in s["questions"] if q["id"] == "race_date")
    assert race["show_if"] == {"ref": "goal_event", "ne": "none"}
    ktw = next(q for s in body["sections"] for q in s["questions"] if q["id"] == "ktw_left_cm")
    assert ktw["unit"] == "cm" and ktw["self_test"]["instructions"]


def test_scoring_without_contact_stores_nothing(db_app):
    client = db_app.test_client()
    response = client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["stored"] is False
    result = body["result"]
    assert result["priorities"][0]["region"] == "ankle_dorsiflexion"
    assert result["safety"]["level"] == "ok"
    ankle = next(r for r in result["regions"] if r["id"] == "ankle_dorsiflexion")
    assert any("nee-to-wall" in hit["reason"] for hit in ankle["fired"])  # the trace
    assert result["plan"]["week"] and len(result["plan"]["week"]) == 7
    assert _count(AssessmentSubmission) == 0 and _count(Lead) == 0


def test_scoring_with_contact_stores_and_queues_email(db_app):
    client = db_app.test_client()
    response = client.post("/api/v1/assessments", json={"answers": CHEST_PAIN, "contact": CONTACT})
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["stored"] is True
    assert body["result"]["safety"]["outcome"] == "see_clinician"
    assert body["result"]["plan"] is None
    assert body["results_url"].startswith("http://coach.test/assessment/")
    submission = db.session.get(AssessmentSubmission, body["submission_id"])
    assert (submission.channel, submission.status) == ("api", "completed")
    assert db.session.get(Lead, body["lead_id"]).needs_clinician is True
    kinds = sorted(db.session.execute(select(OutboxMessage.kind)).scalars())
    assert kinds == ["clinician_first", "coach_notification"]  # the runner, and the coach


def test_malformed_bodies_are_400(db_app):
    client = db_app.test_client()
    for payload in ("not json", "[1, 2]", "null"):
        response = client.post("/api/v1/assessments", data=payload,
                               content_type="application/json")
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_json"


def test_bad_values_are_422_with_per_field_errors(db_app):
    client = db_app.test_client()
    answers = {**DESK_ACHILLES, "weekly_km": -5, "age_band": "ancient", "sf_screen": ["none", "hot_swollen_calf"],
               "favourite_colour": "blue"}
    del answers["desk_hours"]
    response = client.post("/api/v1/assessments",
                           json={"answers": answers, "contact": {**CONTACT, "consent_health": False},
                                 "extra": 1})
    body = response.get_json()
    assert response.status_code == 422
    assert body["errors"]["extra"] == "Unknown field."
    # A top-level problem is reported on its own; then the answers are checked.
    response = client.post("/api/v1/assessments",
                           json={"answers": answers, "contact": {**CONTACT, "consent_health": False}})
    errors = response.get_json()["errors"]
    assert response.status_code == 422
    for key in ("answers.weekly_km", "answers.age_band", "answers.sf_screen",
                "answers.favourite_colour", "answers.desk_hours", "contact.consent_health"):
        assert key in errors, key
    assert _count(AssessmentSubmission) == 0


def test_garbage_never_500s(db_app):
    client = db_app.test_client()
    junk = [None, 1, "x", [], {}, [None], {"a": 1}, 1e308, -1, True, "9" * 400]
    for question in get_rules().assessment.questions:
        for value in junk:
            response = client.post("/api/v1/assessments", json={"answers": {question.id: value}})
            assert response.status_code in (200, 422), (question.id, value, response.status_code)


def test_openapi_document_is_valid_and_matches_the_rules(db_app):
    from openapi_spec_validator import validate

    doc = db_app.test_client().get("/api/v1/openapi.json").get_json()
    validate(doc)
    props = doc["components"]["schemas"]["Answers"]["properties"]
    assert set(props) == {q.id for q in get_rules().assessment.questions}
    assert props["age_band"]["enum"][0] == "<18"


def test_contact_time_zone_is_validated_and_kept(db_app):
    client = db_app.test_client()
    bad = client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES,
                                                   "contact": {**CONTACT, "time_zone": "../../etc/passwd"}})
    assert bad.status_code == 422 and "contact.time_zone" in bad.get_json()["errors"]
    good = client.post("/api/v1/assessments", json={"answers": DESK_ACHILLES,
                                                    "contact": {**CONTACT, "time_zone": "Asia/Tokyo"}})
    assert good.status_code == 201
    assert db.session.get(Lead, good.get_json()["lead_id"]).time_zone == "Asia/Tokyo"
