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


# --- The OpenAPI document says what the validator does (issue 11) ----------------------------


def _answers_schema_validator(client):
    from jsonschema import Draft202012Validator

    doc = client.get("/api/v1/openapi.json").get_json()
    schema = doc["components"]["schemas"]["Answers"]
    Draft202012Validator.check_schema(schema)
    return schema, Draft202012Validator(schema)


def _smallest(prop: dict) -> object:
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop["type"]
    if kind == "array":
        return [prop["items"]["enum"][0]] if prop.get("minItems") else []
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return prop.get("minimum", 0)
    if prop.get("format") == "date":
        from datetime import date

        return date.today().isoformat()
    return "x"


def _minimal_answers(schema, validator) -> dict:
    """Only what the schema requires, adding what its if/then requires until it is valid."""
    answers = {key: _smallest(schema["properties"][key]) for key in schema["required"]}
    for _ in schema["properties"]:
        missing = [name for error in validator.iter_errors(answers) if error.validator == "required"
                   for name in error.validator_value if name not in answers]
        if not missing:
            break
        answers.update({name: _smallest(schema["properties"][name]) for name in missing})
    assert validator.is_valid(answers), [e.message for e in validator.iter_errors(answers)]
    return answers


def test_the_minimal_schema_valid_payload_is_accepted_and_each_required_answer_is_required(db_app):
    client = db_app.test_client()
    schema, validator = _answers_schema_validator(client)
    answers = _minimal_answers(schema, validator)
    assert "sf_screen" in answers and "sf_periods" in answers  # required (sf_periods: sex not given)
    response = client.post("/api/v1/assessments", json={"answers": answers})
    assert response.status_code == 200, response.get_json()
    for key in answers:
        dropped = {k: v for k, v in answers.items() if k != key}
        assert not validator.is_valid(dropped), f"the schema does not require {key}"
        response = client.post("/api/v1/assessments", json={"answers": dropped})
        assert response.status_code == 422, key
        assert f"answers.{key}" in response.get_json()["errors"], key
    # and with contact: the contact schema's required fields are the API's
    contact_schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Contact"]
    for key in contact_schema["required"]:
        contact = {k: v for k, v in CONTACT.items() if k != key}
        response = client.post("/api/v1/assessments", json={"answers": answers, "contact": contact})
        assert response.status_code == 422 and f"contact.{key}" in response.get_json()["errors"], key
    assert _count(AssessmentSubmission) == 0


def test_schema_and_validator_agree_on_what_is_required_for_many_answer_sets(db_app):
    """Random valid answer sets; drop each answer, or empty each list: the schema and the
    validator must agree on whether that is still acceptable (show_if included)."""
    import random
    from datetime import date

    from coachapp.assessment import clean_answers
    from coachapp.assessment.samples import random_answers

    schema, validator = _answers_schema_validator(db_app.test_client())
    assessment = get_rules().assessment
    today = date.today()
    for seed in range(80):
        answers = random_answers(assessment, random.Random(seed), today)
        assert validator.is_valid(answers) and not clean_answers(assessment, answers)[1], seed
        variants = [{k: v for k, v in answers.items() if k != key} for key in answers]
        variants += [{**answers, key: []} for key, value in answers.items() if isinstance(value, list)]
        for variant in variants:
            accepted = not clean_answers(assessment, variant)[1]
            assert validator.is_valid(variant) == accepted, (seed, sorted(set(answers) ^ set(variant)),
                                                             [e.message for e in validator.iter_errors(variant)])


def test_contact_first_name_must_be_one_clean_line(db_app):
    client = db_app.test_client()
    for name in ("Da\tna", "Da\nna", "   "):
        response = client.post("/api/v1/assessments",
                               json={"answers": DESK_ACHILLES, "contact": {**CONTACT, "first_name": name}})
        assert response.status_code == 422 and "contact.first_name" in response.get_json()["errors"], name
    assert _count(Lead) == 0


def test_every_show_if_translates_to_the_same_visibility(db_app):
    """Each question's show_if, as the schema's if-clause, holds exactly when the engine shows it."""
    import random
    from datetime import date

    from jsonschema import Draft202012Validator

    from coachapp.api.answers_schema import visibility_schema
    from coachapp.assessment import clean_answers
    from coachapp.assessment.samples import random_answers

    assessment = get_rules().assessment
    conditional = [(q, Draft202012Validator(visibility_schema(q, assessment.questions)))
                   for q in assessment.questions if q.show_if is not None]
    assert len(conditional) >= 10
    for seed in range(150):
        answers = random_answers(assessment, random.Random(seed), date.today(), answer_rate=0.5)
        facts, errors = clean_answers(assessment, answers)
        assert not errors, (seed, errors)
        for question, validator in conditional:
            assert validator.is_valid(answers) == question.visible(facts), (seed, question.id)
