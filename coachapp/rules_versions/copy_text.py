"""Owner-written email copy (issue 15.2), pure: which prospect emails an owner may reword, the
variables each one offers, checks that name the field, and safe rendering.

An override is ``{"subject": str, "body": str}`` per template in a rules version's ``copy``. The
body is a Markdown subset (paragraphs, **bold**, *italic*, links, lists; raw HTML is shown as
text, images and headings are plain text) and replaces the email's opening copy, the greeting and
first paragraph(s) above what the engine produces (priorities, plan, week, buttons and footer stay).
Variables are ``{{ name }}`` from a fixed list per email; their values are escaped in the HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

MAX_SUBJECT = 150
MAX_BODY = 5000
_VAR = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_PLACEHOLDER = "zqv{}zqv"  # a variable's stand-in Markdown leaves alone (letters and digits, also inside a link)
_MD = MarkdownIt("commonmark", {"html": False}).disable(
    ["image", "heading", "lheading", "code", "fence", "html_block", "html_inline", "hr", "blockquote"])

#: variable → what it is (shown on the page)
COMMON = {"first_name": "the runner's first name (“there” when we do not know it)",
          "business_name": "your business name"}
TOP = {"top_priority": "their first priority, e.g. “hip mobility” (“mobility” when there is none)"}
RESULTS = {"results_url": "the link to their results page"}


@dataclass(frozen=True)
class Email:
    name: str
    title: str
    slot: str  # what the body replaces, in the owner's words
    variables: Mapping[str, str]


EMAILS: dict[str, Email] = {e.name: e for e in (
    Email("assessment_plan", "The plan email (right after the assessment)",
          "the greeting and the thank-you line above “Your priorities”",
          {**COMMON, **TOP, **RESULTS, "strategy_url": "the link to book a free strategy session (may be empty)"}),
    Email("nurture_drill_top_priority", "Tips: the drill for the top priority (sequence step 1)",
          "the greeting and the two lines above the drills", {**COMMON, **TOP, **RESULTS}),
    Email("nurture_second_priority", "Tips: the second priority (sequence step 2)",
          "the greeting and the line above the drills",
          {**COMMON, **RESULTS, "second_priority": "their second priority, e.g. “upper-back rotation”"}),
    Email("nurture_case_story", "Tips: a runner's story (instead of step 2 when there is one priority or none)",
          "the greeting and the story above the link to their plan (never promise an outcome)", {**COMMON, **RESULTS}),
    Email("nurture_strategy_invite", "Tips: invitation to a strategy session",
          "the greeting and the invitation above the booking button",
          {**COMMON, **TOP, "strategy_url": "the link to book a free strategy session"}),
    Email("nurture_retake_invite", "Tips: invitation to retake the assessment",
          "the greeting and the paragraph above the retake button",
          {**COMMON, **TOP, "assessment_url": "the link to start the assessment afresh",
           "retake_url": "their own retake link (the whole assessment or only the self-tests)"}),
)}


def _priority(context: Mapping[str, Any], index: int) -> str:
    result = context.get("result") or {}
    priorities = result.get("priorities") if isinstance(result, Mapping) else None
    if priorities and len(priorities) > index:
        p = priorities[index]
        label = p.get("label") if isinstance(p, Mapping) else getattr(p, "label", None)
        return str(label or "mobility").lower()
    return "mobility"


def values(name: str, context: Mapping[str, Any]) -> dict[str, str]:
    """The variables' values for ``name`` from the render context the templates get."""
    known = {"first_name": context.get("first_name") or "there", "top_priority": _priority(context, 0),
             "second_priority": _priority(context, 1)}
    return {v: str(known.get(v, context.get(v)) or "") for v in EMAILS[name].variables}


def check(name: str, subject: str, body: str) -> dict[str, list[str]]:
    """Problems per field (``subject``/``body``); empty: the override can be used."""
    email = EMAILS.get(name)
    if email is None:
        return {"subject": [f"“{name}” cannot be reworded in the editor."]}
    out: dict[str, list[str]] = {}
    if not subject.strip():
        out.setdefault("subject", []).append("Write a subject (or clear the body too to keep the built-in email).")
    if len(subject) > MAX_SUBJECT:
        out.setdefault("subject", []).append(f"At most {MAX_SUBJECT} characters.")
    if not body.strip():
        out.setdefault("body", []).append("Write the opening (or clear the subject too to keep the built-in email).")
    if len(body) > MAX_BODY:
        out.setdefault("body", []).append(f"At most {MAX_BODY} characters.")
    for field, text in (("subject", subject), ("body", body)):
        for unknown in sorted({m for m in _VAR.findall(text) if m not in email.variables}):
            out.setdefault(field, []).append(
                f"Unknown variable {{{{ {unknown} }}}} (use {', '.join(email.variables)}).")
    return out


def problems(copy: Mapping[str, Any]) -> list[str]:
    """Every problem of a version's ``copy``, each naming the email and field."""
    out = []
    for name, entry in sorted((copy or {}).items()):
        entry = entry if isinstance(entry, Mapping) else {}
        for field, messages in check(name, str(entry.get("subject", "")), str(entry.get("body", ""))).items():
            out += [f"email {name} {field}: {m}" for m in messages]
    return out


def _substitute(text: str, found: Mapping[str, str], escaped: bool) -> str:
    return _VAR.sub(lambda m: str(escape(found.get(m.group(1), ""))) if escaped else found.get(m.group(1), ""), text)


@dataclass(frozen=True)
class Copy:
    subject: str
    html: Markup
    text: str


def render(entry: Mapping[str, Any], found: Mapping[str, str]) -> Copy:
    """The subject, the body as safe HTML (values escaped) and as plain text."""
    names = list(found)
    tokens = {_PLACEHOLDER.format(i): name for i, name in enumerate(names)}
    body = str(entry.get("body", ""))
    marked = _VAR.sub(lambda m: _PLACEHOLDER.format(names.index(m.group(1))) if m.group(1) in found else "", body)
    html = _MD.render(marked)  # html disabled: raw HTML comes out escaped
    for token, name in tokens.items():
        html = html.replace(token, str(escape(found[name])))
    text = _substitute(body, found, escaped=False)
    text = re.sub(r"\[([^\]]*)\]\(([^)\s]*)\)", r"\1 (\2)", text)  # [label](url) → label (url)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    subject = " ".join(_substitute(str(entry.get("subject", "")), found, escaped=False).split())
    return Copy(subject=subject, html=Markup(html),  # nosec B704  # markdown-it with HTML off escapes the owner's text; values escaped above
                text=text.strip() + "\n")
