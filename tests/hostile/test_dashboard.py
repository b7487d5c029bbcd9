"""The signed-in dashboard (and /auth) under hostile input: every rule of ``app.url_map`` there,
with hostile path values, query strings, form fields and uploads, signed in as the owner and as a
plain coach. Never a 5xx; a plain coach gets 403/404 (or 405) on the owner's pages; nothing with a
control character stored.

One site is seeded through the app itself (two leads from the API, a draft rules version from the
editor, a replay, a webhook endpoint, an import job) so valid ids reach the real pages too.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import CONTACT, DESK_ACHILLES
from tests.helpers_dashboard import PASSWORD, coach_with_password, sign_in
from tests.helpers_strategy import make_coach
from tests.helpers_webhooks_out import make_endpoint
from tests.hostile.conftest import hostile_settings
from tests.hostile.support import NASTY, TEXT, Tally, assert_nothing_invalid_stored, junk, salted

#: Path values an ``int`` converter may still take (the rest are refused by the router: 404).
HOSTILE_INTS = ["99999999999999999999", "9223372036854775808", "2147483648", "0", "-1", "00001", "1e3",
                "abc", "1%00", "%00", "1" * 400]
#: Path values for a string converter (each is percent-encoded into the path).
HOSTILE_TEXTS = [*NASTY[::3], "..", "\ufeff", "\x1b[31m"]
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


@pytest.fixture
def site(fuzz_app) -> Site:
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


def _hostile_values(converter: str) -> list[str]:
    return HOSTILE_INTS if converter == "int" else HOSTILE_TEXTS


def test_every_route_with_hostile_path_values(site):
    """Deterministic: each path variable of every rule takes each hostile value in turn (the
    others valid), by GET and POST; then every rule with valid values and every query key and
    form field set to the same hand-picked string."""
    owner = Signed(site.app, OWNER_EMAIL)
    tally = Tally("dashboard paths")
    for rule, endpoint, methods in site.rules:
        if endpoint == "auth.logout":
            continue  # signs out: covered below, last
        valid = {name: site.valid.get(name, ["x"])[0] for _conv, name in site.variables(rule)}
        for converter, name in site.variables(rule):
            for value in _hostile_values(converter):
                for method in methods:
                    tally(owner.open(method, site.url(rule, {**valid, name: value})))
                raw = rule.replace(f"<{converter}:{name}>" if converter != "default" else f"<{name}>",
                                   "a\udcff\x85b".encode("utf-8", "surrogateescape").decode("latin-1"))
                tally(owner.open("GET", "/", environ_overrides={"PATH_INFO": VARIABLE.sub("1", raw)}))
    for text in ["a\x00b\x1b", "\u202e'; --", "x" * 5000, "", "é\x85", "²", "9999-12-31T23:59",
                 "99999999999999999999", "submission:99999999999999999999"]:
        for rule, endpoint, methods in site.rules:
            if endpoint == "auth.logout":
                continue
            url = site.url(rule, {name: site.valid.get(name, ["x"])[0] for _c, name in site.variables(rule)})
            query = urlencode([(key, text) for key in QUERY_KEYS], quote_via=quote)
            for method in methods:
                form = {key: text for key in site.fields(endpoint) + FORM_KEYS} if method == "POST" else None
                tally(owner.open(method, f"{url}?{query}", data=form))
    tally(owner.open("POST", "/auth/logout", data={"next": "\x00"}))
    tally.report()
    assert_nothing_invalid_stored(site.app)


VALUES = st.one_of(junk(), st.sampled_from(ODD), salted(st.sampled_from(ODD)), salted(TEXT))


def _form(draw, keys: list[str]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(keys), max_size=10, unique=True))
    form: dict[str, Any] = {key: draw(st.one_of(VALUES, st.lists(VALUES, max_size=3))) for key in chosen}
    if draw(st.booleans()):
        form[draw(st.one_of(junk(), st.sampled_from(FORM_KEYS)))] = draw(VALUES)
    return form


def test_generated_queries_and_forms_as_the_owner(site):
    owner = Signed(site.app, OWNER_EMAIL)
    tally = Tally("dashboard queries and forms (owner)")
    rules = [r for r in site.rules if r[1] != "auth.logout"]

    @hostile_settings(8.0)
    @given(st.data())
    def visit(data):
        rule, endpoint, methods = data.draw(st.sampled_from(rules))
        values = {name: data.draw(st.one_of(st.sampled_from(site.valid.get(name, ["x"])),
                                            st.sampled_from(_hostile_values(conv)), junk()))
                  if data.draw(st.integers(0, 4)) == 0 else data.draw(st.sampled_from(site.valid.get(name, ["x"])))
                  for conv, name in site.variables(rule)}
        url = site.url(rule, {k: v or "x" for k, v in values.items()})
        pairs = data.draw(st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_KEYS), junk()), VALUES), max_size=5))
        raw = data.draw(st.one_of(st.none(), LATIN1))
        method = data.draw(st.sampled_from(methods))
        kwargs: dict[str, Any] = ({"environ_overrides": {"QUERY_STRING": raw}} if raw is not None
                                  else {"query_string": urlencode(pairs, quote_via=quote)})
        if method == "POST":
            form = _form(data.draw, site.fields(endpoint))
            if endpoint == "dashboard.import_upload" and data.draw(st.booleans()):
                content = data.draw(st.one_of(st.binary(max_size=300), LATIN1.map(lambda s: s.encode("latin-1")),
                                              junk().map(lambda s: ("email,first_name\n" + s).encode())))
                form["file"] = (io.BytesIO(content), data.draw(st.sampled_from(["leads.csv", "a\x00.csv", ""])))
                kwargs["content_type"] = "multipart/form-data"
            kwargs["data"] = form
        tally(owner.open(method, url, **kwargs))

    visit()
    tally.report()
    assert_nothing_invalid_stored(site.app)


def _owner_only(endpoint: str) -> bool:
    from coachapp.dashboard.access import OWNER_ONLY

    return endpoint.startswith(OWNER_ONLY) or endpoint.startswith("dashboard.coach")


def test_a_plain_coach_everywhere(site):
    """A coach (not the owner): the owner's pages are refused (403, or 404 for what does not
    exist), whatever the input; every other page answers without a 5xx."""
    coach = Signed(site.app, COACH_EMAIL)
    tally = Tally("dashboard as a plain coach")
    for rule, endpoint, methods in site.rules:
        if endpoint == "auth.logout":
            continue
        variables = site.variables(rule)
        tries = [{name: site.valid.get(name, ["x"])[0] for _c, name in variables}]
        tries += [{name: value for _c, name in variables} for value in ("99999999999999999999", "\x00", "1")]
        for values in tries:
            for method in methods:
                form = {key: "\x00junk" for key in FORM_KEYS} if method == "POST" else None
                response = tally(coach.open(method, site.url(rule, values) + "?q=%00&weeks=-1", data=form))
                if _owner_only(endpoint):
                    assert response.status_code in (400, 403, 404, 405), (rule, method, values, response.status_code)
    tally.report()
    assert_nothing_invalid_stored(site.app)
