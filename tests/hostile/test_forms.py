"""Every public form field (and the sign-in form) under generated input: never a 5xx, and
nothing with a control character stored."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from coachapp.public.forms import CONTACT_METHODS, DEALING_WITH, DELIVERY, SERVICE_CHOICES, START_TIMING
from tests.helpers import CONTACT, DESK_ACHILLES
from tests.hostile.conftest import hostile_settings
from tests.hostile.support import (
    EMAILS,
    MODES,
    NAMES,
    ODD_EMAILS,
    ODD_PHONES,
    PHONES,
    Tally,
    assert_nothing_invalid_stored,
    field,
    junk,
    multi,
    ready_for_contact,
)

ZONES = ["America/Chicago", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
ODD_ZONES = ["UTC", "Etc/GMT+5", "../../etc/passwd", "america/chicago", "Factory"]
NAV = ["next", "back", "skip", "finish", "tests"]
#: The honeypot and time-trap fields: usually absent (a person), sometimes junk.
HUMAN_CHECK = st.fixed_dictionaries({}, optional={"reference_code": junk(), "shown_at": junk()})


def _value(question, mode: str) -> st.SearchStrategy:
    kind = question.type
    if kind == "single_select":
        return field([o.value for o in question.options], mode)
    if kind in ("multi_select", "checklist"):
        return multi([o.value for o in question.choices], mode)
    if kind == "boolean":
        return field(["yes", "no"], mode, odd=["on", "1", "maybe"])
    if kind == "date":
        return field(["2027-03-01", "2026-12-24"], mode, odd=["0000-00-00", "9999-12-31", "0001-01-01", "2027-02-30"])
    if kind in ("integer", "number", "slider"):
        low, high = question.min or 0, question.max or 0
        return field([str(low), str(high)], mode, odd=[str(high + 1), "2,5", "-0", "1e3", "inf", "nan", "1" * 400])
    return field(["x"], mode)


def _screens(app) -> list[tuple[str, list]]:
    from coachapp.rules_store import get_rules

    with app.app_context():
        screens = [(s.id, list(s.questions)) for s in get_rules().assessment.screens]
    return [*screens, ("self-tests", []), ("contact", [])]


def test_assessment_screens(fuzz_app):
    client = fuzz_app.test_client()
    start = client.post("/assessment/start")
    assert start.status_code == 302
    token = start.headers["Location"].split("/")[2]
    screens = _screens(fuzz_app)
    tally = Tally("assessment screens")

    @hostile_settings(1.0)
    @given(st.data())
    def post_a_screen(data):
        mode = data.draw(MODES)
        screen_id, questions = data.draw(st.sampled_from(screens))
        form = {q.id: data.draw(_value(q, mode)) for q in questions
                if mode != "wild" or data.draw(st.booleans())}
        form["nav"] = data.draw(field(["next"], mode, odd=NAV))
        tally(client.post(f"/assessment/{token}/{screen_id}", data=form))
        tally(client.get(f"/assessment/{token}/{screen_id}"))

    post_a_screen()
    tally(client.get(f"/assessment/{token}"))
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


def test_contact_step(fuzz_app):
    client = fuzz_app.test_client()
    token = [ready_for_contact(fuzz_app)]
    tally = Tally("contact step")

    @hostile_settings(0.6)
    @given(st.data())
    def post_contact(data):
        mode = data.draw(MODES)
        form = {"first_name": data.draw(field(NAMES, mode)), "email": data.draw(field(EMAILS, mode, ODD_EMAILS)),
                "consent_health": data.draw(field(["y"], mode, odd=["", "n"])),
                "time_zone": data.draw(field(ZONES, mode, ODD_ZONES))}
        if data.draw(st.booleans()):
            form["consent_marketing"] = data.draw(field(["y"], mode))
        if mode == "wild":
            form.update(data.draw(HUMAN_CHECK))
            form["nav"] = data.draw(field(["next"], mode, odd=NAV))
        seed = data.draw(st.integers(0, 50))
        response = tally(client.post(f"/assessment/{token[0]}/contact", data=form))
        if response.status_code == 302 and response.headers["Location"].endswith("/results"):
            assert client.get(response.headers["Location"]).status_code == 200
            token[0] = ready_for_contact(fuzz_app, seed=seed)  # completed: the next example gets a fresh one

    post_contact()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


def _completed_token(app) -> str:
    response = app.test_client().post("/api/v1/assessments", json={"answers": DESK_ACHILLES, "contact": CONTACT})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["results_url"].rsplit("/", 2)[-2]


def _keys(pairs) -> list[str]:
    return [key for key, _ in pairs]


def test_strategy_session_forms(fuzz_app):
    client = fuzz_app.test_client()
    linked = _completed_token(fuzz_app)
    tally = Tally("strategy-session forms")

    @hostile_settings(0.6)
    @given(st.data())
    def post_strategy(data):
        mode = data.draw(MODES)
        token = data.draw(st.sampled_from(["", linked]) if mode != "wild" else field([linked], mode, odd=[""]))
        data = {
            "first_name": data.draw(field(NAMES, mode)), "email": data.draw(field(EMAILS, mode, ODD_EMAILS)),
            "goals": data.draw(field(["Run a half\r\nwithout pain", "Mobility\tafter 40"], mode)),
            "dealing_with": data.draw(multi(_keys(DEALING_WITH), mode)),
            "services": data.draw(multi(_keys(SERVICE_CHOICES), mode, min_size=1)),
            "delivery": data.draw(field(_keys(DELIVERY), mode)),
            "start_timing": data.draw(field(_keys(START_TIMING), mode)),
            "health_check": data.draw(multi(["exertion_chest", "night_rest_pain"], mode)),
            "preferred_contact": data.draw(field(_keys(CONTACT_METHODS), mode)),
            "phone": data.draw(field(PHONES, mode, ODD_PHONES)),
            "time_zone": data.draw(field(ZONES, mode, ODD_ZONES)),
            "consent": data.draw(field(["y"], mode, odd=[""])),
            "contact_times": data.draw(multi(["mornings", "evenings"], mode)),
            "assessment_token": token,
            **(data.draw(HUMAN_CHECK) if mode == "wild" else {}),
        }
        response = tally(client.post("/strategy-session", data=data))
        if response.status_code == 302:
            assert client.get(response.headers["Location"]).status_code == 200
        tally(client.get("/strategy-session", query_string={"from_assessment": token}))

    post_strategy()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)


def test_sign_in_form(fuzz_app):
    from coachapp.coaches import CoachData, create_coach
    from coachapp.extensions import db

    with fuzz_app.app_context():
        create_coach(CoachData(name="Casey Coach", email="casey@example.com", password="correct horse battery"))
        db.session.commit()
    client = fuzz_app.test_client()
    tally = Tally("sign-in form")

    @hostile_settings(0.1)
    @given(mode=MODES, data=st.data())
    def sign_in(mode, data):
        email = data.draw(field(["casey@example.com", "nobody@example.com"], mode))
        password = data.draw(field(["correct horse battery"], mode))
        next_url = data.draw(st.one_of(st.none(), field(["/dashboard/"], mode, odd=["//evil.example", "javascript:x"])))
        query = {"next": next_url} if next_url is not None else {}
        response = tally(client.post("/auth/login", data={"email": email, "password": password},
                                     query_string=query))
        if response.status_code == 302:
            client.post("/auth/logout")

    sign_in()
    tally.report()
    assert_nothing_invalid_stored(fuzz_app)
