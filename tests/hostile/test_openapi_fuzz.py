"""Schemathesis against ``/api/v1/openapi.json``, in process (the WSGI app, no server).

Positive cases (schema-valid requests) must be accepted and answered as documented — this
is where the document and the validator are held to each other; negative cases (schema-invalid
requests) must never be a 5xx and must be answered as documented. The validator is more lenient
than the schema about types (a form sends "30" for 30), so "negative data is rejected" is not
asserted.
"""

from __future__ import annotations

import schemathesis
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.conftest import hostile_settings
from tests.hostile.support import Tally, assert_nothing_invalid_stored

DOCUMENT = "/api/v1/openapi.json"
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _schema(app):
    return schemathesis.openapi.from_wsgi(DOCUMENT, app)


def test_schema_valid_requests_are_accepted_as_documented(fuzz_app):
    schema = _schema(fuzz_app)
    tally = Tally("schemathesis: positive")

    @hostile_settings(1.0)
    @given(case=schema.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def call(case):
        response = case.call_and_validate(checks=[*CONFORMANCE, positive_data_acceptance])
        tally.statuses[response.status_code] += 1

    call()
    tally.report()
    assert tally.statuses[201] > 0  # some cases carried a contact: stored, so the database check means something
    assert_nothing_invalid_stored(fuzz_app)


def test_schema_invalid_requests_are_refused_as_documented(fuzz_app):
    schema = _schema(fuzz_app)
    tally = Tally("schemathesis: negative")

    @hostile_settings(1.0)
    @given(case=schema["/api/v1/assessments"]["POST"].as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def call(case):
        response = case.call_and_validate(checks=CONFORMANCE)
        tally.statuses[response.status_code] += 1

    call()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)
