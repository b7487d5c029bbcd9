"""A seeded site for the dashboard's hostile tests: coaches who sign in (again, when a request
signed them out), every rule under /dashboard and /auth, the ids that exist for each path variable,
and the names of the fields and query keys the views read.

It is seeded through the app itself (two leads from the API, a draft rules version from the editor,
a replay, a webhook endpoint, an import job) so valid ids reach the real pages.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.helpers import CONTACT, DESK_ACHILLES
from tests.helpers_dashboard import PASSWORD, coach_with_password, sign_in
from tests.helpers_strategy import make_coach
from tests.helpers_webhooks_out import make_endpoint
from tests.hostile.support import NASTY

#: Path values an ``int`` converter may still take (the rest are refused by the router: 404).
HOSTILE_INTS = ["99999999999999999999", "2147483648", "0", "-1", "00001", "abc", "%00", "1" * 400]
#: Path values for a string converter (each is percent-encoded into the path).
HOSTILE_TEXTS = [*NASTY[::4], "..", "\ufeff"]
#: Every query key the dashboard and auth views read (grep request.args), and one nobody reads.
QUERY_KEYS = ["since", "weeks", "status", "reveal", "category", "page", "q", "sample", "a", "b", "kind", "next",
              "owner", "red", "from", "to", "sort", "stage", "tier", "source", "region", "after", "before",
              "unknown"]
#: Every form field the views read (request.form and the WTForms), and unknown ones.
FORM_KEYS = ["weeks", "active", "n", "survivor", "sample", "action", "outcome", "next", "text", "stage", "coach_id",
             "status", "confirm", "minutes", "due", "col0", "col1", "col2", "col3", "move", "password", "name",
             "email", "time_zone", "hours", "services", "in_person", "online", "is_owner", "url", "description",
             "events", "since", "expected_live", "first_name", "last_name", "email_is_real", "unknown", "x.y.z"]
#: Plausible-looking values a view might parse: numbers past INTEGER, digits that are not ASCII
#: ("²".isdigit() is True, int("²") fails), dates at the ends of the calendar, broken URLs.
ODD = ["99999999999999999999", "2147483648", "-1", "0", "²", "١٢", "1_000", " 60 ", "1e3", "60.0", "inf",
       "9999-12-31", "0001-01-01", "9999-12-31T23:59", "0001-01-01T00:00", "2027-02-30", "2027-01-01T25:00",
       "http://[::1", "https://", "https://999.999.999.999/x", "https://exa mple.com/", "https://a:99999/",
       "https://xn--/", "javascript:alert(1)", "https://" + "a" * 300 + ".com/", "/dashboard/\r\nx", "//evil",
       "persona:", "submission:", "submission:0", "submission:99999999999999999999", "q.x:up", ":down", "up"]
#: The form fields each POST view reads (the rest get FORM_KEYS and the editor's field names).
FIELDS = {
    "dashboard.assign": ["coach_id", "next"], "dashboard.change_stage": ["stage", "next"],
    "dashboard.add_note": ["text", "next"], "dashboard.sequence_status": ["status", "next"],
    "dashboard.erase": ["confirm"], "dashboard.session_outcome": ["outcome", "next"],
    "dashboard.log_call": ["outcome", "next"], "dashboard.snooze_task": ["minutes", "next"],
    "dashboard.reschedule_task": ["due", "next"], "dashboard.complete_task": ["next"],
    "dashboard.merge_confirm": ["survivor", "first_name", "last_name", "phone", "time_zone", "stage", "owner_id",
                                "consent_health_at", "consent_marketing_at"],
    "dashboard.import_mapping": ["col0", "col1", "col2", "col3", "action"],
    "dashboard.coaches": ["name", "email", "time_zone", "hours", "services", "in_person", "online", "is_owner",
                          "password"],
    "dashboard.coach_active": ["active"], "dashboard.coach_password": ["password"],
    "dashboard.webhooks": ["url", "description", "events"], "dashboard.webhook_active": ["active"],
    "dashboard.insights_recount": ["weeks"], "dashboard.insights_outcomes_recount": ["weeks"],
    "dashboard.insights_weights_fit": ["since"], "dashboard.rules_replay_start": ["n"],
    "dashboard.rules_rollback": ["expected_live"], "auth.login": ["email", "password"],
}
LATIN1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=60)
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
OWNER_EMAIL, COACH_EMAIL = "olive.owner@motive.example", "colin.coach@motive.example"


@dataclass
class Site:
    app: Any
    rules: list[tuple[str, str, tuple[str, ...]]]  # rule, endpoint, methods
    valid: dict[str, list[str]]  # path variable -> values that exist
    form_keys: list[str] = field(default_factory=list)  # FORM_KEYS and the editor's own field names
    whatif_keys: list[str] = field(default_factory=list)  # a.<question>, present.<question>

    def fields(self, endpoint: str) -> list[str]:
        if endpoint == "dashboard.rules_whatif":
            return self.whatif_keys
        return FIELDS.get(endpoint) or self.form_keys

    def url(self, rule: str, values: dict[str, str]) -> str:
        return VARIABLE.sub(lambda m: quote(values[m.group(2)], safe=""), rule)

    def variables(self, rule: str) -> list[tuple[str, str]]:
        return [(m.group(1) or "default", m.group(2)) for m in VARIABLE.finditer(rule)]


class Signed:
    """A signed-in browser that signs in again when a request signed it out (log out, a password
    change): the fuzz keeps exercising the pages, not the sign-in redirect."""

    def __init__(self, app, email: str) -> None:
        self.app, self.email = app, email
        self.client = self._sign_in()

    def _sign_in(self):
        from coachapp.auth.passwords import hash_password
        from coachapp.extensions import db
        from coachapp.models import Coach

        with self.app.app_context():
            coach = db.session.query(Coach).filter_by(email=self.email).one()
            coach.password_hash, coach.active = hash_password(PASSWORD), True
            db.session.commit()
            return sign_in(self.app, coach).client

    def open(self, method: str, url: str, **kwargs):
        response = self.client.open(url, method=method, **kwargs)
        if url.startswith("/auth/") or "/auth/login" in response.headers.get("Location", ""):
            self.client = self._sign_in()
        return response


def _seed(app) -> dict[str, list[str]]:
    from sqlalchemy import select

    from coachapp.extensions import db
    from coachapp.models import (
        Coach,
        CoachTask,
        ImportJob,
        Lead,
        OutboxMessage,
        RulesReplay,
        RulesVersion,
        WebhookDelivery,
        WebhookEndpoint,
    )
    from coachapp.rules_store import get_rules

    api = app.test_client()
    for email in ("dana.runner@example.com", "dana.runner+2@example.com"):
        response = api.post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": {**CONTACT,
                                                                                              "email": email}})
        assert response.status_code == 201, response.get_json()
    owner = Signed(app, OWNER_EMAIL)
    assert owner.open("POST", "/dashboard/rules/edit/new").status_code == 302
    assert owner.open("POST", "/dashboard/rules/1/replay", data={"n": "10"}).status_code in (200, 302)
    csv = b"first_name,email,phone\nAnn,ann@example.com,512 555 0100\n"
    assert owner.open("POST", "/dashboard/imports", data={"file": (io.BytesIO(csv), "leads.csv")},
                      content_type="multipart/form-data").status_code == 302
    with app.app_context():
        make_endpoint(db, "https://hooks.example.com/in", ["lead.created"])

        def ids(model) -> list[str]:
            return [str(i) for i in db.session.execute(select(model.id)).scalars()][:3]

        rules = get_rules()
        leads = ids(Lead)
        valid = {
            "lead_id": leads, "other_id": leads[::-1], "task_id": ids(CoachTask), "message_id": ids(OutboxMessage),
            "coach_id": [str(db.session.execute(select(Coach.id).where(Coach.email == "tara.target@motive.example"))
                             .scalar_one())],
            "number": [str(n) for n in db.session.execute(select(RulesVersion.number)).scalars()],
            "run_id": ids(RulesReplay), "endpoint_id": ids(WebhookEndpoint), "delivery_id": ids(WebhookDelivery),
            "job_id": ids(ImportJob), "booking_id": ["1"],
            "area": ["questions", "sequences", "priority"], "which": ["live", "draft"], "what": ["results", "email"],
            "name": ["assessment_plan"], "question": [rules.assessment.screens[0].questions[0].id],
            "sequence_id": [rules.sequences.sequences[0].id],
        }
    return {key: values or ["1"] for key, values in valid.items()}


def _whatif_keys(app) -> list[str]:
    from coachapp.rules_store import get_rules

    with app.app_context():
        questions = get_rules().assessment.questions
    return ["sample", "action"] + [f"{kind}.{q.id}" for q in questions for kind in ("a", "present")]


def _editor_keys(app, number: str) -> list[str]:
    from coachapp.extensions import db
    from coachapp.models import RulesVersion
    from coachapp.rules_versions import edits

    with app.app_context():
        version = db.session.query(RulesVersion).filter_by(number=int(number)).one()
        keys = [f.key for area in edits.AREAS for f in edits.fields(version.files, area)]
    return keys[:: max(1, len(keys) // 40)] + ["assessment_plan.subject", "assessment_plan.body"]


def build_site(fuzz_app) -> Site:
    """The seeded site (the ``dashboard_site`` fixture): coaches, leads, a draft, a replay, an
    endpoint, an import job, and every rule under /dashboard and /auth."""
    from coachapp.extensions import db

    with fuzz_app.app_context():
        make_coach(db, email="tara.target@motive.example", name="Tara Target")  # id 1: "00001" lands here
        coach_with_password(db, email=OWNER_EMAIL, name="Olive Owner", is_owner=True)
        coach_with_password(db, email=COACH_EMAIL, name="Colin Coach")
    valid = _seed(fuzz_app)
    rules = sorted((r.rule, r.endpoint, tuple(sorted(r.methods - {"HEAD", "OPTIONS"})))
                   for r in fuzz_app.url_map.iter_rules() if r.rule.startswith(("/dashboard", "/auth")))
    assert len(rules) > 60, rules
    return Site(fuzz_app, rules, valid, FORM_KEYS + _editor_keys(fuzz_app, valid["number"][0]) + ["move"],
                _whatif_keys(fuzz_app))
