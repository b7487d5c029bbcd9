"""The dashboard's forms filled in the way test_forms fills the public ones: all valid (it gets
stored), valid with control characters spliced in (stored once cleaned), or anything at all, so
generated input reaches the services behind each form, not only the first check. Never a 5xx;
the pages that show what was stored still open; nothing with a control character stored."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coachapp.leads.import_rows import FIELDS as IMPORT_FIELDS
from coachapp.models import SERVICES, STAGES
from coachapp.webhooks_out.signing import EVENT_TYPES
from tests.hostile.conftest import hostile_settings
from tests.hostile.dashboard_site import ODD, OWNER_EMAIL, Signed
from tests.hostile.support import EMAILS, MODES, NAMES, ODD_EMAILS, Tally, assert_nothing_invalid_stored, field, multi
from tests.hostile.test_forms import ZONES, _value

SOON = [(datetime.now() + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M") for d in (1, 3, 30)]
NEXT = st.one_of(st.just(None), field(["/dashboard/", "/dashboard/leads?stage=new"], "wild", odd=ODD))


def _open(owner: Signed, tally: Tally, method: str, url: str, form: dict | None = None, **kwargs):
    form = {k: v for k, v in (form or {}).items() if v is not None}
    return tally(owner.open(method, url, data=form or None, **kwargs))


def test_lead_and_task_actions(dashboard_site):
    site = dashboard_site
    owner, tally = Signed(site.app, OWNER_EMAIL), Tally("dashboard lead actions (forms)")
    leads, tasks = site.valid["lead_id"], site.valid["task_id"]
    coach_ids = [*site.valid["coach_id"], "2", "3", ""]

    @hostile_settings(0.5)  # CI: 100 examples
    @given(st.data())
    def act(data):
        mode, lead, task = data.draw(MODES), data.draw(st.sampled_from(leads)), data.draw(st.sampled_from(tasks))
        forms = {
            f"/dashboard/leads/{lead}/stage": {"stage": field(list(STAGES), mode, odd=ODD)},
            f"/dashboard/leads/{lead}/assign": {"coach_id": field(coach_ids, mode, odd=ODD)},
            f"/dashboard/leads/{lead}/note": {"text": field(["Called, no answer", "Line one\r\nLine two\tend"], mode)},
            f"/dashboard/leads/{lead}/sequences/{site.valid['sequence_id'][0]}":
                {"status": field(["paused", "active", "stopped"], mode, odd=ODD)},
            f"/dashboard/leads/{lead}/replied": {},
            f"/dashboard/leads/{lead}/merge/{leads[-1]}": {
                "survivor": field(leads, mode, odd=ODD), "first_name": field(leads, mode), "phone": field(leads, mode)},
            f"/dashboard/tasks/{task}/reschedule": {"due": field(SOON, mode, odd=ODD)},
            f"/dashboard/tasks/{task}/snooze": {"minutes": field(["60", "180", "1440"], mode, odd=ODD)},
            f"/dashboard/tasks/{task}/call": {"outcome": field(["reached", "voicemail", "no_answer"], mode, odd=ODD)},
            f"/dashboard/tasks/{task}/complete": {},
        }
        url = data.draw(st.sampled_from(sorted(forms)))
        form = {key: data.draw(strategy) for key, strategy in forms[url].items()}
        form["next"] = data.draw(NEXT)
        _open(owner, tally, "POST", url, form)
        for page in (f"/dashboard/leads/{lead}", "/dashboard/", f"/dashboard/leads/{lead}/export.json"):
            _open(owner, tally, "GET", page)

    act()
    tally.report()
    assert_nothing_invalid_stored(site.app)


def test_coach_and_webhook_forms(dashboard_site):
    site = dashboard_site
    owner, tally = Signed(site.app, OWNER_EMAIL), Tally("dashboard coach and webhook forms")
    hours, odd_hours = ["mon-fri 09:00-17:00", "mon 08:00-12:00, tue 13:00-18:00"], ["mon-fri 25:00-26:00",
                                                                                  "sun 17:00-09:00", "everyday"]
    urls = ["https://hooks.example.com/in", "http://example.org/x?y=1", "https://é.example/ü"]

    @hostile_settings(0.4)  # CI: 80 examples (each a few requests, some a rules load)
    @given(st.data())
    def post(data):
        mode, which = data.draw(MODES), data.draw(st.sampled_from(["coach", "password", "webhook"]))
        if which == "coach":
            form = {"name": data.draw(field(NAMES, mode)), "email": data.draw(field(EMAILS, mode, ODD_EMAILS)),
                    "time_zone": data.draw(field(ZONES, mode, odd=ODD)), "hours": data.draw(field(hours, mode,
                                                                                                odd_hours)),
                    "services": data.draw(multi(list(SERVICES), mode)), "in_person": data.draw(field(["y"], mode)),
                    "password": data.draw(field(["Correct-Horse-42-battery"], mode))}
            _open(owner, tally, "POST", "/dashboard/coaches", form)
        elif which == "password":
            url = f"/dashboard/coaches/{site.valid['coach_id'][0]}/password"
            _open(owner, tally, "POST", url, {"password": data.draw(field(["Another-Horse-43-battery"], mode))})
        else:
            form = {"url": data.draw(field(urls, mode, odd=ODD)), "description": data.draw(field(["Zapier"], mode)),
                    "events": data.draw(multi(list(EVENT_TYPES), mode, min_size=1))}
            _open(owner, tally, "POST", "/dashboard/webhooks", form)
        _open(owner, tally, "GET", "/dashboard/coaches")
        _open(owner, tally, "GET", "/dashboard/webhooks")

    post()
    tally.report()
    assert_nothing_invalid_stored(site.app)


def _draft_number(app) -> int | None:
    from coachapp.extensions import db
    from coachapp.models import RulesVersion

    with app.app_context():
        return db.session.query(RulesVersion.number).filter_by(status="draft").order_by(
            RulesVersion.number.desc()).limit(1).scalar()


def test_rules_editor_what_if_and_preview(dashboard_site):
    from coachapp.rules_store import get_rules
    from coachapp.rules_versions import edits

    site = dashboard_site
    owner, tally = Signed(site.app, OWNER_EMAIL), Tally("dashboard rules forms")
    with site.app.app_context():
        from coachapp.extensions import db
        from coachapp.models import RulesVersion

        questions = list(get_rules().assessment.questions)[:12]
        files = db.session.query(RulesVersion).filter_by(number=_draft_number(site.app)).one().files
        shown_by_area = {area: edits.fields(files, area) for area in edits.AREAS}

    @hostile_settings(0.4)  # CI: 80 examples (each a few requests, some a rules load)
    @given(st.data())
    def edit(data):
        number = _draft_number(site.app)
        if number is None:  # published by an earlier example: a new draft from the live version
            _open(owner, tally, "POST", "/dashboard/rules/edit/new")
            number = _draft_number(site.app)
        mode, what = data.draw(MODES), data.draw(st.sampled_from(["area", "emails", "whatif", "replay", "publish"]))
        if what == "area":  # the fields of the first draft: what is drawn never depends on the database
            area = data.draw(st.sampled_from(sorted(shown_by_area)))
            shown = shown_by_area[area]
            chosen = data.draw(st.lists(st.sampled_from(shown), max_size=4, unique_by=lambda f: f.key))
            form = {f.key: data.draw(field([f.value], mode, odd=ODD)) for f in chosen}
            movable = [f.moves for f in shown if f.moves]
            if movable and data.draw(st.booleans()):
                form["move"] = data.draw(field([f"{m}:{d}" for m in movable for d in ("up", "down")], mode, odd=ODD))
            _open(owner, tally, "POST", f"/dashboard/rules/{number}/edit/{area}", form)
        elif what == "emails":
            text = field(["Thanks, {{ first_name }}!", "**Your plan** is ready.\r\n\r\n- one\n- two"], mode,
                         odd=["{{ nope }}", "{% if %}", "[x](javascript:alert(1))", "<b>", "x" * 3000])
            _open(owner, tally, "POST", f"/dashboard/rules/{number}/edit/emails",
                  {"assessment_plan.subject": data.draw(text), "assessment_plan.body": data.draw(text)})
        elif what == "whatif":
            form = {f"a.{q.id}": data.draw(_value(q, mode)) for q in questions if data.draw(st.booleans())}
            form.update({f"present.{q.id}": "1" for q in questions if q.type in ("multi_select", "checklist")})
            form["action"] = data.draw(field(["compare", "score"], mode))
            _open(owner, tally, "POST", f"/dashboard/rules/{number}/whatif", form)
        elif what == "replay":
            _open(owner, tally, "POST", f"/dashboard/rules/{number}/replay", {"n": data.draw(field(["10", "1"], mode,
                                                                                                  odd=ODD))})
        else:
            _open(owner, tally, "POST", f"/dashboard/rules/{number}/publish", {"confirm": "1"})
        page = data.draw(st.sampled_from(["edit", "preview", "whatif", "replay"]))
        _open(owner, tally, "GET", f"/dashboard/rules/{number}/{page}")
        _open(owner, tally, "GET", "/dashboard/rules/compare", query_string={"a": "live", "b": str(number)})

    edit()
    tally.report()
    assert_nothing_invalid_stored(site.app)


def _csv(draw, mode: str) -> bytes:
    header = draw(st.lists(field(["email", "first_name", "phone", "source", "stage", "notes"], mode,
                                 odd=["", "email", "=cmd|' /C calc'!A0", "\ufeffemail"]), min_size=1, max_size=5))
    cells = field(["dana@example.com", "Dana", "512 555 0100", "newsletter", "new", "Met at the 10k"], mode, ODD)
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=4))
    text = "\r\n".join(",".join('"' + c.replace('"', '""') + '"' for c in row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, "replace")


def test_import_upload_and_mapping(dashboard_site):
    site = dashboard_site
    owner, tally = Signed(site.app, OWNER_EMAIL), Tally("dashboard import forms")

    @hostile_settings(1.0)
    @given(st.data())
    def upload(data):
        mode = data.draw(MODES)
        name = data.draw(field(["leads.csv", "Export 2026.CSV"], mode, odd=["leads.xlsx", "", "..\\x.csv"]))
        response = _open(owner, tally, "POST", "/dashboard/imports",
                         {"file": (io.BytesIO(_csv(data.draw, mode)), name)}, content_type="multipart/form-data")
        location = response.headers.get("Location", "")
        if "/imports/" not in location:
            return
        job = location.rsplit("/", 1)[-1]
        form = {f"col{i}": data.draw(field(["", *IMPORT_FIELDS], mode, odd=ODD)) for i in range(5)}
        form["action"] = data.draw(field(["dry_run", "save", "import"], mode, odd=ODD))
        _open(owner, tally, "POST", f"/dashboard/imports/{job}", form)
        for page in ("", "/progress.json", "/report.csv"):
            _open(owner, tally, "GET", f"/dashboard/imports/{job}{page}")

    upload()
    tally.report()
    assert_nothing_invalid_stored(site.app)
