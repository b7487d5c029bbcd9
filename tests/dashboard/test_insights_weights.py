"""Priority weights that learn (issue 14.3), on SQLite and PostgreSQL: which leads have an outcome
and what the rules saw before it, the fit on a seeded data set built so the fitted points should
rank better, the `flask priority fit` command, and the owner's page with its diff download.
Nothing under rules/ is ever written."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from coachapp.assessment import load_rules
from coachapp.extensions import db
from coachapp.leads import weight_fits, weights_diff
from coachapp.leads.triage import change_stage
from coachapp.leads.weights import columns
from coachapp.leads.weights_outcomes import fit_from_outcomes, outcome_samples, priority_yaml
from coachapp.models import Booking, Lead, WeightFit, utcnow
from coachapp.rules_store import get_rules
from tests.conftest import Browserish
from tests.helpers import CORE, complete_assessment
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_weights import seed_outcomes
from tests.rules_copy import RULES_DIR


def rules_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(RULES_DIR.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(RULES_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def seeded(db_app):
    return seed_outcomes(3000, utcnow())


def test_fit_on_seeded_outcomes_ranks_held_out_leads_better(seeded):
    report = fit_from_outcomes(get_rules(), priority_yaml(RULES_DIR), utcnow())
    c, fit = report.counts, report.fit
    assert (c.converted, c.not_converted, c.undecided, c.clinician_first) == (
        seeded.converted, seeded.not_converted, seeded.undecided, seeded.clinician_first)
    assert fit.enough and fit.leads == c.with_outcome and fit.train + fit.held_out == c.with_outcome
    assert fit.auc_suggested > fit.auc_current + 0.05, (fit.auc_current, fit.auc_suggested)
    assert fit.ci_change.lo > 0
    rows = {r.rule_id: r for r in fit.rules}
    desk, race = rows["fit.desk_bound"], rows["urg.race_8_16w"]
    assert desk.current == 10 and desk.suggested > desk.current and desk.coef > 1
    assert race.current == 40 and race.suggested < race.current and abs(race.coef) < 0.5
    # the outcome itself never leaks in: "session booked" matched no lead before its outcome
    assert rows["eng.session_booked"].matched == 0 and rows["eng.session_booked"].suggested == 30
    assert "+      points: " in report.diff and set(fit.changes) <= set(rows)


def test_what_counts_as_an_outcome_and_what_the_rules_saw_before_it(db_app):
    rules, now = get_rules(), utcnow()
    booked = complete_assessment(CORE, "booked@example.com")
    at_completion = {r["rule_id"] for r in booked.priority["reasons"] if r["axis"] != "override"}
    change_stage(rules, booked, "session_booked", utcnow())  # after its assessment
    booked.replied_at = utcnow() + timedelta(minutes=5)  # replied after booking: not a feature
    db.session.commit()
    assert "eng.session_booked" in {r["rule_id"] for r in booked.priority["reasons"]}  # re-tiered since
    waiting = complete_assessment(CORE, "young@example.com")  # new, a few seconds old: undecided
    lost = complete_assessment(CORE, "lost@example.com")
    change_stage(rules, lost, "lost", utcnow())  # decided at once: did not convert
    red = complete_assessment(CORE, "red@example.com")
    red.needs_clinician = True
    old = Lead(email="old@example.com", email_display="old@example.com", stage="contacted",
               created_at=now - timedelta(days=31), replied_at=now - timedelta(days=30))
    early = Lead(email="early@example.com", email_display="early@example.com", stage="new",
                 created_at=now - timedelta(days=2))
    erased = Lead(email="gone@example.com", email_display="gone", stage="client", erased_at=now)
    db.session.add_all([old, early, erased])
    db.session.flush()
    db.session.add(Booking(lead_id=early.id, provider="calendly", uid="u1", status="cancelled",
                           created_at=now - timedelta(days=1)))  # booked (then cancelled) before its assessment
    db.session.commit()
    complete_assessment(CORE, "early@example.com")

    samples, counts = outcome_samples(rules, utcnow() + timedelta(minutes=1))
    cols = [c.rule_id for c in columns(rules.leads)]
    seen = {s.lead_id: (s.converted, {cols[i] for i, hit in enumerate(s.features) if hit}) for s in samples}
    assert set(seen) == {booked.id, lost.id, old.id, early.id}
    assert (counts.converted, counts.not_converted, counts.undecided, counts.clinician_first) == (2, 2, 1, 1)
    assert waiting.id not in seen and red.id not in seen
    assert seen[booked.id] == (True, at_completion)  # the same rules the app fired when it tiered the lead
    assert "eng.replied" not in seen[booked.id][1]
    assert seen[early.id] == (True, set())  # its assessment came after the booking
    assert seen[old.id] == (False, {"eng.replied"})
    assert seen[lost.id][0] is False and "eng.assessment_completed" in seen[lost.id][1]


def test_cli_prints_the_table_and_writes_the_diff_outside_rules(seeded, db_app, tmp_path):
    before = rules_fingerprint()
    runner = db_app.test_cli_runner()
    out = tmp_path / "priority.yaml.diff"
    result = runner.invoke(args=["priority", "fit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "method: Logistic regression (scikit-learn LogisticRegression, L2" in text
    assert f"leads with an outcome: {seeded.converted + seeded.not_converted} ({seeded.converted} converted" in text
    assert "held-out AUC by tier, current points:" in text and "held-out AUC by tier, suggested points:" in text
    line = next(row for row in text.splitlines() if row.startswith("fit.desk_bound"))
    assert line.split()[1:3] == ["fit", "10"] and float(line.split()[3]) > 10
    assert f"proposed diff written to {out}" in text
    diff = out.read_text(encoding="utf-8")
    assert diff.startswith("--- a/rules/leads/priority.yaml")
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    subprocess.run(["git", "apply", str(out)], cwd=tmp_path, check=True)
    patched = {c.rule_id: c.points for c in columns(load_rules(tmp_path / "rules").leads)}
    assert patched["fit.desk_bound"] == float(line.split()[3])

    printed = runner.invoke(args=["priority", "fit", "--since", "2000-01-01"])
    assert printed.exit_code == 0 and "created since 2000-01-01" in printed.output
    assert diff in printed.output  # no --out: the diff is printed
    refused = runner.invoke(args=["priority", "fit", "--out", str(RULES_DIR / "leads" / "x.diff")])
    assert refused.exit_code == 2 and "never written into the rules folder" in refused.output
    assert not (RULES_DIR / "leads" / "x.diff").exists()
    bad = runner.invoke(args=["priority", "fit", "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.output
    stored = db.session.execute(select(WeightFit).order_by(WeightFit.id)).scalars().first()
    assert (stored.status, stored.created_by, stored.diff) == ("done", "flask priority fit", diff)
    assert rules_fingerprint() == before


def test_cli_with_too_few_outcomes_says_so(db_app):
    result = db_app.test_cli_runner().invoke(args=["priority", "fit"])
    assert result.exit_code == 0
    assert "Too few outcomes to fit: 0 leads with an outcome" in result.output
    assert "proposed diff" not in result.output


@pytest.fixture
def team(db_app):
    return {"owner": coach_with_password(db, name="Brian Owner", email="brian@motive.example", is_owner=True),
            "sam": coach_with_password(db, name="Sam Mobility", email="sam@motive.example")}


def _fit_now(web, since: str = "") -> WeightFit:
    """Press "Fit now", then run the queued fit as the worker would (the task's body)."""
    web.get("/dashboard/insights/weights")  # the form's CSRF token
    response = web.post("/dashboard/insights/weights/fit", {"since": since})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    fit = db.session.execute(select(WeightFit).order_by(WeightFit.id.desc())).scalars().first()
    assert fit.status == "queued"
    assert weight_fits.run(fit.id, get_rules(), str(RULES_DIR)) == "done"
    assert weight_fits.run(fit.id, get_rules(), str(RULES_DIR)) == "not queued"  # a second delivery: nothing
    db.session.expire_all()
    return db.session.get(WeightFit, fit.id)


def test_owner_fits_in_the_background_and_downloads_the_diff(seeded, db_app, team, tmp_path: Path):
    before = rules_fingerprint()
    web = sign_in(db_app, team["owner"])
    first = web.get("/dashboard/insights/weights").get_data(as_text=True)
    assert "No fit yet" in first and "Fit now" in first and "Download the proposed" not in first
    assert web.get("/dashboard/insights/weights/priority.yaml.diff").status_code == 409
    queued = web.post("/dashboard/insights/weights/fit", {"since": ""}, follow_redirects=True)
    assert "Fitting in the background" in queued.get_data(as_text=True)
    assert "waiting for the worker" in queued.get_data(as_text=True)
    db.session.execute(delete(WeightFit))
    db.session.commit()
    fit = _fit_now(web)
    assert fit.status == "done" and fit.rules_version == get_rules().version and fit.seconds is not None
    assert fit.created_by == "Brian Owner" and fit.report["counts"]["converted"] == seeded.converted
    html = web.get("/dashboard/insights/weights").get_data(as_text=True)
    for text in ("Logistic regression (scikit-learn LogisticRegression", "Ranking quality on held-out",
                 "Tier with the current points", "Tier with the suggested points", "<code>fit.desk_bound</code>",
                 "Download the proposed priority.yaml diff", f"{seeded.converted} booked a session or became a client",
                 "by Brian Owner"):
        assert text in html, text
    assert "waiting for the worker" not in html and "No fit yet" not in html
    download = web.get("/dashboard/insights/weights/priority.yaml.diff")
    assert download.status_code == 200 and download.mimetype == "text/x-diff"
    assert download.headers["Content-Disposition"] == 'attachment; filename="priority.yaml.diff"'
    assert download.get_data(as_text=True) == fit.diff
    (tmp_path / "p.diff").write_bytes(download.data)
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    subprocess.run(["git", "apply", "--check", "p.diff"], cwd=tmp_path, check=True)
    fit.rules_version = "sha256:0000000000000000"  # the rules changed since: the diff is not offered
    db.session.commit()
    stale = web.get("/dashboard/insights/weights").get_data(as_text=True)
    assert "The rules have changed since this fit" in stale and "Download the proposed" not in stale
    assert web.get("/dashboard/insights/weights/priority.yaml.diff").status_code == 409
    assert rules_fingerprint() == before


def test_a_fit_per_since_date_and_bad_input(seeded, db_app, team):
    web = sign_in(db_app, team["owner"])
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    fit = _fit_now(web, since=tomorrow)
    assert fit.since.isoformat() == tomorrow
    later = web.get(f"/dashboard/insights/weights?since={tomorrow}").get_data(as_text=True)
    assert "Too few outcomes to fit: 0 leads" in later and "Download the proposed" not in later
    assert "No fit yet" in web.get("/dashboard/insights/weights").get_data(as_text=True)  # none on all leads
    odd = web.get("/dashboard/insights/weights?since=not-a-date")
    assert odd.status_code == 200 and "is not a date (use YYYY-MM-DD)" in odd.get_data(as_text=True)
    bad = web.post("/dashboard/insights/weights/fit", {"since": "yesterday"}, follow_redirects=True)
    assert bad.status_code == 200 and "Enter the date as YYYY-MM-DD" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(WeightFit)) == 1


def test_too_few_outcomes_page_and_no_download(db_app, team):
    web = sign_in(db_app, team["owner"])
    _fit_now(web)
    html = web.get("/dashboard/insights/weights").get_data(as_text=True)
    assert "Too few outcomes to fit: 0 leads with an outcome" in html
    assert "Download the proposed" not in html and "Ranking quality" not in html
    refused = web.get("/dashboard/insights/weights/priority.yaml.diff")
    assert refused.status_code == 409 and b"Too few outcomes to fit" in refused.data


def test_owner_only(db_app, team):
    app = db_app
    coach = sign_in(app, team["sam"])
    assert coach.get("/dashboard/insights/weights").status_code == 403
    assert coach.get("/dashboard/insights/weights/priority.yaml.diff").status_code == 403
    coach.get("/dashboard/")  # a valid CSRF token (the sign-out form): the role, not the token, refuses
    assert coach.post("/dashboard/insights/weights/fit", {"since": ""}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(WeightFit)) == 0
    anonymous = Browserish(app.test_client()).get("/dashboard/insights/weights")  # a fresh g: nobody
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_a_fit_that_fails_is_recorded_and_said(db_app, team, tmp_path: Path):
    web = sign_in(db_app, team["owner"])
    web.get("/dashboard/insights/weights")
    web.post("/dashboard/insights/weights/fit", {"since": ""})
    fit = db.session.execute(select(WeightFit)).scalar_one()
    with pytest.raises(FileNotFoundError):  # the worker sees the error (and Celery logs it)
        weight_fits.run(fit.id, get_rules(), str(tmp_path / "no-rules-here"))
    db.session.expire_all()
    fit = db.session.get(WeightFit, fit.id)
    assert fit.status == "failed" and fit.error.startswith("FileNotFoundError") and fit.finished_at
    html = web.get("/dashboard/insights/weights").get_data(as_text=True)
    assert "did not finish (FileNotFoundError" in html and "Press “Fit now” to try again" in html


def test_a_stored_report_of_another_shape_is_no_fit_not_a_500(db_app, team):
    db.session.add(WeightFit(created_by="older code", decided_after_days=30, status="done", report={"fit": {"x": 1}},
                             rules_version=get_rules().version, diff="--- a/x\n"))
    db.session.commit()
    web = sign_in(db_app, team["owner"])
    page = web.get("/dashboard/insights/weights")
    assert page.status_code == 200 and "No fit yet" in page.get_data(as_text=True)
    assert web.get("/dashboard/insights/weights/priority.yaml.diff").status_code == 409


def test_with_a_live_rules_version_the_diff_is_of_that_version(seeded, db_app, tmp_path: Path):
    """Rules versions (issue 15): the fit proposes a change of the live version's priority.yaml."""
    from coachapp import rules_store
    from coachapp.assessment import read_texts
    from coachapp.rules_versions.services import Actor, create_draft, publish

    texts = read_texts(RULES_DIR, [])
    texts["leads/priority.yaml"] = texts["leads/priority.yaml"].replace(
        "# Fit — who they are", "# Fit (in version 1) — who they are")
    texts["leads/priority.yaml"] = weights_diff.with_points(texts["leads/priority.yaml"], {"fit.runner": 15})
    version = create_draft(texts, Actor.cli(), utcnow())
    publish(version.id, Actor.cli(), utcnow())
    db.session.commit()
    rules_store.forget()
    assert get_rules().version == version.content_hash
    result = db_app.test_cli_runner().invoke(args=["priority", "fit", "--out", str(tmp_path / "v.diff")])
    assert result.exit_code == 0, result.output
    assert f"rules: rules version {version.label}" in result.output
    assert "fit.runner                   fit             15" in result.output
    export = tmp_path / "export"
    for rel, text in texts.items():
        (export / rel).parent.mkdir(parents=True, exist_ok=True)
        (export / rel).write_text(text, encoding="utf-8")
    subprocess.run(["git", "apply", "-p2", str(tmp_path / "v.diff")], cwd=export, check=True)
    patched = load_rules(export)
    assert "(in version 1)" in (export / "leads" / "priority.yaml").read_text(encoding="utf-8")
    assert patched.version != version.content_hash
