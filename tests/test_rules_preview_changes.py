"""The preview lists what a version changes and renders each changed item under live and draft
(issue 15.3, follow-up): the areas with their changed fields in words (pure ``changes``), every
rewordable email (changed ones rendered: subject, text, HTML in a sandboxed frame; unchanged ones
listed only), and the assessment screen of each question whose text changed."""

from __future__ import annotations

import html
import re

import pytest

from coachapp.assessment import read_texts
from coachapp.extensions import db
from coachapp.models import utcnow
from coachapp.rules_versions import changes, edits, services
from tests.conftest import ROOT
from tests.helpers_dashboard import coach_with_password, sign_in
from tests.helpers_rules_versions import NEW_LABEL, OLD_LABEL, edited_copy, import_draft, versions_cleared  # noqa: F401

ACTOR = services.Actor(None, "Test Owner <owner@example.com>")
STORY = {"subject": "{{ first_name }}, a runner like you", "body": "Hi {{ first_name }},\n\nOur owner's own story."}
PLAN = {"subject": "Your plan, {{ first_name }}", "body": "Hello {{ first_name }}, here is your plan."}
SAMPLE = "?sample=persona:stiff_calves_desk"


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def words(response) -> str:
    """The page's text without tags, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


# --- pure ---------------------------------------------------------------------------------------

def test_changes_name_each_field_in_words():
    shipped = read_texts(ROOT / "rules", [])
    section = next(f.key for f in edits.fields(shipped, "questions") if f.key.startswith("s."))
    texts, errors = edits.apply(shipped, "questions", {"q.age_band.text": NEW_LABEL, "q.desk_hours.help": "Roughly",
                                                       section: "About you, briefly"})
    step = next(f for f in edits.fields(shipped, "sequences") if f.key.startswith("st."))
    texts, more = edits.apply(texts, "sequences", {step.key: str(int(step.value) + 1)})
    tier = next(f.key for f in edits.fields(shipped, "priority") if f.key.startswith("t."))
    texts, last = edits.apply(texts, "priority", {tier: "Call them today"})
    assert not errors and not more and not last
    found = changes.field_changes(shipped, texts)
    sid, tid = step.key.split(".")[1:3]
    assert [c.words for c in found] == [
        f"assessment: section {section.split('.')[1]} title", f"assessment: question {'age_band'} text",
        "assessment: question desk_hours help", f"sequences: {sid} step {tid} delay",
        f"priority: tier {tier.split('.')[1]} action"]
    assert changes.changed_questions(found) == [
        ("age_band", [f"section {section.split('.')[1]} title", "question age_band text"]),
        ("desk_hours", ["question desk_hours help"])]
    assert changes.field_changes(shipped, dict(shipped)) == []
    assert changes.copy_changes({"assessment_plan": PLAN}, {"assessment_plan": {**PLAN, "subject": "x"},
                                                            "nurture_case_story": STORY}) == [
        "copy: assessment_plan subject", "copy: nurture_case_story subject", "copy: nurture_case_story body"]


# --- the page -------------------------------------------------------------------------------------

@pytest.mark.usefixtures("versions_cleared")
def test_the_preview_lists_and_renders_each_changed_email_and_screen(db_app, tmp_path):
    owner = coach_with_password(db, is_owner=True, name="Pia Owner", email="pia@motive.example")
    web = sign_in(db_app, owner)
    draft = import_draft(edited_copy(tmp_path))
    services.update_draft(draft, ACTOR, utcnow(), copy={"nurture_case_story": STORY, "assessment_plan": PLAN})
    db.session.commit()
    n = draft.number

    page = web.get(f"/dashboard/rules/{n}/preview{SAMPLE}")
    assert page.status_code == 200
    body, said = text(page), words(page)
    assert "What v1 changes" in said
    assert "Questions: changed assessment: question age_band text" in said
    assert "Emails: changed copy: assessment_plan subject; copy: assessment_plan body; " \
           "copy: nurture_case_story subject; copy: nurture_case_story body" in said
    assert "Follow-up timing: unchanged" in said and "Lead priority: unchanged" in said
    assert "Other rule files: unchanged" in said
    # every rewordable email listed; the changed ones rendered under both, the rest not rendered
    assert "Tips: the drill for the top priority (sequence step 1): unchanged" in said
    assert "Tips: invitation to retake the assessment: unchanged" in said
    assert f"/dashboard/rules/{n}/preview/live/mail/nurture_case_story" in body
    assert f"/dashboard/rules/{n}/preview/draft/mail/assessment_plan" in body
    assert "/mail/nurture_drill_top_priority" not in body and "/mail/nurture_retake_invite" not in body
    story = body[body.index('id="mail-nurture_case_story"'):]
    assert "What one desk-bound runner's assessment showed" in story  # live: the built-in subject
    assert "Sam, a runner like you" in story and "Our owner's own story." in story  # draft: subject, text
    # one changed screen, the others counted as unchanged
    assert "1 screen with changed texts" in said and "other questions unchanged" in said
    assert f"/dashboard/rules/{n}/preview/live/screen/age_band" in body
    assert "/screen/desk_hours" not in body

    for which, present, absent in (("draft", "Our owner's own story.", "A runner we coached sat at a desk"),
                                   ("live", "A runner we coached sat at a desk", "Our owner's own story.")):
        frame = web.get(f"/dashboard/rules/{n}/preview/{which}/mail/nurture_case_story{SAMPLE}")
        assert frame.status_code == 200
        assert "sandbox" in frame.headers["Content-Security-Policy"]
        assert "form-action 'none'" in frame.headers["Content-Security-Policy"]
        assert present in text(frame) and absent not in text(frame)
    for which, present, absent in (("draft", NEW_LABEL, OLD_LABEL), ("live", OLD_LABEL, NEW_LABEL)):
        frame = web.get(f"/dashboard/rules/{n}/preview/{which}/screen/age_band{SAMPLE}")
        assert frame.status_code == 200 and "sandbox" in frame.headers["Content-Security-Policy"]
        screen = text(frame)
        assert present in screen and absent not in screen
        assert 'name="age_band"' in screen
    assert web.get(f"/dashboard/rules/{n}/preview/draft/screen/no_such_question").status_code == 404
    assert web.get(f"/dashboard/rules/{n}/preview/draft/mail/welcome_gift").status_code == 404
    assert web.get(f"/dashboard/rules/{n}/preview/other/mail/assessment_plan").status_code == 404
    assert web.get("/dashboard/rules/99/preview/draft/screen/age_band").status_code == 404

    coach = coach_with_password(db, name="Cat Coach", email="cat@motive.example")
    assert sign_in(db_app, coach).get(f"/dashboard/rules/{n}/preview/draft/screen/age_band").status_code == 403


@pytest.mark.usefixtures("versions_cleared")
def test_an_unchanged_version_lists_everything_as_unchanged(db_app, tmp_path):
    web = sign_in(db_app, coach_with_password(db, is_owner=True, name="Uma Owner", email="uma@motive.example"))
    draft = import_draft(edited_copy(tmp_path, "priority_threshold: 40", "priority_threshold: 40  # same",
                                     "scoring/regions.yaml"))
    page = web.get(f"/dashboard/rules/{draft.number}/preview")
    body, said = text(page), words(page)
    assert "Questions: unchanged" in said and "Emails: unchanged" in said
    assert "Other rule files: changed scoring/regions.yaml" in said
    assert "/mail/" not in body and "/screen/" not in body
    assert "The plan email (right after the assessment): unchanged" in said


@pytest.mark.usefixtures("versions_cleared")
@pytest.mark.parametrize("persona", ["stiff_calves_desk", "sore_knee", "new_runner"])
def test_every_rewordable_email_renders_under_both_sides(db_app, tmp_path, persona):
    """Each email an owner may reword, with the owner's copy in the draft: rendered on the page
    (subject, text) and in its frame (HTML), the built-in one under live. An email the picked
    runner would not get (too few priorities for the drill emails) is shown for a built-in runner
    who would, and says so; its frame for the picked runner is a 422 with a message, not a 500."""
    from coachapp.rules_preview import pages
    from coachapp.rules_preview.changed import qualifies
    from coachapp.rules_preview.samples import BY_ID
    from coachapp.rules_store import files_rules
    from coachapp.rules_versions.copy_text import EMAILS

    web = sign_in(db_app, coach_with_password(db, is_owner=True, name="Eve Owner", email="eve@motive.example"))
    draft = import_draft(edited_copy(tmp_path))
    copy = {name: {"subject": f"Subject for {name}, {{{{ first_name }}}}", "body": f"Opening of {name}."}
            for name in EMAILS}
    services.update_draft(draft, ACTOR, utcnow(), copy=copy)
    db.session.commit()
    sample = f"?sample=persona:{persona}"
    page = web.get(f"/dashboard/rules/{draft.number}/preview{sample}")
    assert page.status_code == 200
    body = text(page)
    result = pages.result_of(files_rules(), BY_ID[persona].answers(utcnow().date()), utcnow().date())
    for name in EMAILS:
        section = body[body.index(f'id="mail-{name}"'):]
        section = section[:section.index("</section>")]
        assert f"Subject for {name}, Sam" in section and f"Opening of {name}." in section
        if not qualifies(name, result):
            assert f"{BY_ID[persona].label} would not get this email; shown for:" in section
            direct = web.get(f"/dashboard/rules/{draft.number}/preview/draft/mail/{name}{sample}")
            assert direct.status_code == 422 and "would not get this email" in text(direct)
        srcs = [html.unescape(u) for u in re.findall(r'src="([^"]+/mail/[^"]+)"', section)]
        assert len(srcs) == 2
        live_frame, draft_frame = (web.get(u) for u in srcs)
        assert draft_frame.status_code == live_frame.status_code == 200
        assert f"Opening of {name}." in text(draft_frame) and f"Opening of {name}." not in text(live_frame)
