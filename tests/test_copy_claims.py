"""Runner-facing copy promises no outcome and names no diagnosis (issue 8, point 7).

What is scanned: every file in ``templates/email/`` and ``templates/public/``, and every string
*value* (not keys, not comments) in every YAML file under ``rules/`` except ``rules/sources.yaml``
(it cites the studies, so it has to name conditions and populations). ``rules/README.md`` is not
YAML and is not scanned.

The rules (domain research §7 "Copy and compliance notes", §2 "Take-away for messaging"):

* never promise an outcome — not even by anecdote ("the knee pain … was gone");
* never name a medical condition as something the reader has: "these answers suggest …",
  "the front of the hip looks tight in this test", never "you have …" (naming a body area is fine);
* never let a figure from another population read as if it applied to runners: the sentence that
  gives the figure names the population the source studied.

Templates are scanned as the reader sees them: Jinja comments, tags and expressions and HTML tags
are blanked and whitespace is collapsed, so a phrase broken across lines or tags is still found.
A YAML ``{placeholder}`` is blanked the same way.

A hit that is genuinely fine goes in ``EXCEPTIONS`` with a reason. Keep that list empty if at all
possible: rewording the copy is almost always the better fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = ("templates/email", "templates/public")
RULES_DIR = "rules"
NOT_COPY = {"rules/sources.yaml", "rules/README.md"}  # citations and the authors' guide, not copy

# --------------------------------------------------------------------------------------------
# Patterns. All are matched case-insensitively against the visible text. Each pair is
# (regular expression, what is wrong and what to say instead).
# --------------------------------------------------------------------------------------------

_WORDS = r"(?:[\w'-]+\s+)"  # one word and the space after it, for "{0,2}" gaps

OUTCOME_PROMISES: list[tuple[str, str]] = [
    # "the knee pain … was gone": a promise by anecdote.
    (r"\b(?:was|were|is|are|has been|have been|will be)\s+gone\b",
     "says a problem was (or will be) gone: describe what the runner did and what the coach saw"),
    # "the pain disappeared / went away / cleared up / was fixed".
    (r"\b(?:pain|aches?|niggles?|injur(?:y|ies)|symptoms?|tightness|stiffness)\b[^.!?]{0,60}?"
     r"\b(?:disappeared|vanished|went away|cleared up|was cured|were cured|healed|was fixed|were fixed)\b",
     "says pain or an injury went away"),
    (r"\bpain[- ]?free\b", "'pain-free' promises an outcome"),
    (r"\binjury[- ]?free\b", "'injury-free' promises an outcome"),
    (r"\b(?:injury|bullet)[- ]?proof\b", "'injury-proof' promises an outcome"),
    (r"\bguarantee", "nothing about the body is guaranteed"),
    (r"\bcur(?:e|es|ed|ing)\b", "coaching does not cure"),
    (r"\bheals?\s+(?:your|the)\b", "coaching does not heal"),
    (r"\bfix(?:es|ed|ing)?\s+(?:your|her|his|their|the)\b", "'fixes your …' promises an outcome"),
    # "prevents injuries", "prevent running injuries", "preventing knee injuries".
    (r"\bprevent(?:s|ed|ing)?\s+" + _WORDS + r"{0,2}injur", "promises injury prevention"),
    (r"\binjury[- ]prevention\b", "sells the plan as injury prevention"),
    (r"\bprotects?\s+(?:you|your|runners|against|from)\b", "promises protection from injury"),
    (r"\b(?:reduces?|cuts?|lowers?|halves?)\s+your\s+" + _WORDS + r"{0,2}(?:risk|injur|pain|chance)",
     "promises the reader a lower risk: report what a study found, in whom"),
    (r"\b(?:will|'ll)\s+(?:stop|end|eliminate|resolve|fix|cure|prevent|heal)\s+" + _WORDS
     + r"{0,2}(?:pain|injur|niggles?|aches?|problems?|tightness)",
     "promises to end pain or injuries"),
    (r"\b(?:eliminat|eradicat)\w*\s+" + _WORDS + r"{0,2}(?:pain|injur)", "promises to end pain or injuries"),
    (r"\bno more\s+(?:pain|injur|niggles?|aches?)", "promises no more pain or injuries"),
    (r"\b(?:never|won't|will not)\s+(?:get\s+)?(?:injured|hurt)\b", "promises the reader won't get hurt"),
    (r"\byou(?:'ll| will)\s+(?:never|no longer)\b", "promises a future outcome"),
    # "got her long runs back", "get your running back".
    (r"\b(?:get|gets|got|getting)\s+(?:your|her|his|their|my)\s+" + _WORDS + r"{0,2}back\b",
     "'got her long runs back' promises an outcome by anecdote"),
    (r"\b(?:clinically|scientifically)\s+proven\b|\bproven\s+to\b", "'proven to' overstates the evidence"),
    (r"\bmiracle\b|\bworks every time\b", "promises an outcome"),
]

DIAGNOSES: list[tuple[str, str]] = [
    # Named conditions. Naming a body area ("outside of the knee", "Achilles or calf") is fine.
    (r"\btendin(?:opathy|opathies|itis|osis)\b|\btendonitis\b", "names a tendon condition"),
    (r"\bfasci(?:itis|opathy)\b", "names plantar fasciitis: say 'heel or arch of the foot'"),
    (r"\bITBS\b|\bIT[- ]?band syndrome\b|\bITB syndrome\b|\biliotibial band syndrome\b",
     "names ITBS: say 'outside of the knee (IT band)'"),
    (r"\bpatellofemoral\b|\bPFPS?\b|\brunner'?s knee\b|\bjumper'?s knee\b|\bchondromalacia\b",
     "names patellofemoral pain: say 'front of the knee'"),
    (r"\bMTSS\b|\bmedial tibial stress\b|\bshin splints\b", "names a shin condition: say 'shin'"),
    (r"\bRED-S\b|\brelative energy deficiency\b|\bfemale athlete triad\b",
     "names RED-S: 'can point to low energy availability — worth a review with a doctor'"),
    (r"\bhypermobility\s+(?:syndrome|spectrum|disorder)\b|\bhEDS\b|\bHSD\b|\bJHS\b|\bEhlers\b",
     "names a hypermobility disorder: say 'these answers suggest generous joint range'"),
    (r"\bsciatica\b|\bbursitis\b|\b(?:osteo)?arthritis\b|\bneuroma\b|\bpiriformis syndrome\b"
     r"|\bfemoroacetabular\b|\bFAI\b|\bimpingement\b|\blabral tear\b|\bherniat\w*|\bslipped disc\b"
     r"|\bcompartment syndrome\b",
     "names a diagnosis"),
    (r"\bDVT\b|\bdeep vein thrombosis\b|\bcauda equina\b",
     "names a condition: describe the symptoms ('a hot, swollen calf') and route to care"),
    # A stress fracture as a diagnosis. Asking about one ("Have you ever had a stress fracture?")
    # or saying what a symptom can be a sign of is fine.
    (r"\b(?:you(?:'ve| have)(?: got)?|you (?:may|might|probably|likely) have|(?:it|this|that)(?:'s| is)"
     r"(?: probably| likely)?|sounds like|(?:most )?likely|probabl[ey]|suspected)\s+(?:an?\s+)?"
     r"(?:stress fracture|bone stress injury)",
     "calls it a stress fracture: route to a clinician without naming it"),
    # Muscle-length findings: "the front of the thigh looks tight in this test", not a named muscle
    # that "looks short".
    (r"\brectus femoris\b", "names the muscle at fault: say 'the front of the thigh'"),
    (r"\b(?:looks?|seems?|appears?)\s+(?:too\s+|clearly\s+|very\s+)?short(?:ened)?\b",
     "'looks short' is a finding about muscle length: say 'looks tight in this test'"),
    (r"\b(?:muscles?|hamstrings?|hip flexors?|quads?|quadriceps|calf|calves|psoas|thighs?)\s+(?:is|are)\s+"
     r"(?:too\s+)?short(?:ened)?\b",
     "a muscle 'is short' is a finding: say 'looks tight in this test'"),
    # "You have …" with a finding or condition: say "these answers suggest …".
    (r"\byou(?:'ve| have)(?: got)?\s+(?:an?\s+)?" + _WORDS + r"{0,2}"
     r"(?:tight|short|shortened|weak|stiff|restricted|dysfunctional|unstable|hypermobile|lax|flat feet"
     r"|overpronat\w*|syndrome|disorder|tendin\w*|fasciitis)\b",
     "'you have …' states a finding as fact: say 'these answers suggest …'"),
    (r"\byou(?:'re| are)\s+(?:\w+\s+)?(?:hypermobile|weak|tight|inflexible|unstable|imbalanced|dysfunctional"
     r"|misaligned)\b",
     "'you are …' states a finding as fact: say 'these answers suggest …'"),
    (r"\byour\s+" + _WORDS + r"{1,2}(?:is|are)\s+(?:too\s+|very\s+|clearly\s+)?"
     r"(?:short|shortened|weak|tight|stiff|restricted|dysfunctional|unstable|inhibited|misaligned)\b",
     "'your hips are tight' states a finding as fact: say 'looks tight in this test'"),
]

# A figure from another population: when a sentence matches the trigger, the same sentence must
# name the population the source studied. (trigger, population, source)
POPULATIONS: list[tuple[str, str, str]] = [
    (r"\bsleep\w*\b.*?(?:\d\s*(?:×|x\b|times\b)|\brisk\b|\binjur)",
     r"\badolescent|\bteen|\byoung athletes",
     "sleep and injury: adolescent athletes [R12]"),
    (r"\bnordics?\b.*?(?:halv|\d\s*%|\bRR\b|\bfewer\b|\bcut\b|\breduc|\bprevent|\binjur)",
     r"\bteam[- ]sports?\b|\bfootball|\bsoccer|\brugby",
     "Nordic hamstring programmes: team sports [E5]"),
    (r"\bcopenhagen\b.*?(?:halv|\d\s*%|\bfewer\b|\bcut\b|\breduc|\bprevent|\binjur)",
     r"\bfootball|\bsoccer|\bteam[- ]sports?\b",
     "Copenhagen adduction programmes: football"),
    (r"(?:dorsiflexion|knee[- ]to[- ]wall|ankle bend|ankle (?:mobility|range)).*?(?:\bpredict|\binjur)",
     r"\bbasketball|\brecruits\b|\bmilitary\b|\bsoldiers\b",
     "ankle range and injury: basketball players and army recruits [S5, S9]"),
    (r"\bACWR\b|\bacute[: ]+chronic\b|\bsweet spot\b",
     r"\bteam[- ]sports?\b",
     "acute:chronic workload bands: team sports; they did not predict running injury [R8, R7]"),
    (r"\bstrength (?:training|programmes?|programs?|work)\b.*?(?:under a third|halv|\d+\s*%)",
     r"\bsports? injur|\bathletes\b|\bnovice|\bnew runners",
     "strength-training figures: sports injuries in general [E1], hip-and-core in novice runners [E2]"),
]


@dataclass(frozen=True)
class CopyException:
    path: str  # relative to the project root
    text: str  # a piece of the offending line (templates) or string value (YAML)
    reason: str


# Explicit, reasoned exceptions only. Empty on purpose.
EXCEPTIONS: list[CopyException] = []

_FLAGS = re.IGNORECASE | re.DOTALL
_PROMISES = [(re.compile(p, _FLAGS), why) for p, why in OUTCOME_PROMISES]
_DIAGNOSES = [(re.compile(p, _FLAGS), why) for p, why in DIAGNOSES]
_POPULATIONS = [(re.compile(t, _FLAGS), re.compile(q, _FLAGS), src) for t, q, src in POPULATIONS]

_TEMPLATE_MARKUP = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|<[^>]*>", re.DOTALL)
_YAML_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})


@dataclass(frozen=True)
class Unit:
    """One piece of copy: a template's visible text, or one YAML string value."""

    path: str
    where: str  # "line N" or "line N (key.path)"
    text: str  # visible text, whitespace collapsed
    lines: tuple[int, ...]  # original line number of each character of ``text``
    raw_lines: tuple[str, ...]  # the source lines, to match EXCEPTIONS against


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    where: str
    kind: str
    match: str
    why: str
    source_line: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}{self.where}: {self.kind} {self.match!r} — {self.why}"


def _visible(text: str, markup: re.Pattern[str], first_line: int) -> tuple[str, tuple[int, ...]]:
    """Blank the markup (keeping offsets), collapse whitespace, and keep each kept character's line."""
    blanked = markup.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text.translate(_QUOTES))
    out: list[str] = []
    lines: list[int] = []
    line = first_line
    for ch in blanked:
        if ch.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                lines.append(line)
        else:
            out.append(ch)
            lines.append(line)
        if ch == "\n":
            line += 1
    return "".join(out), tuple(lines)


def _template_units(rel: str) -> list[Unit]:
    raw = (ROOT / rel).read_text(encoding="utf-8")
    text, lines = _visible(raw, _TEMPLATE_MARKUP, 1)
    return [Unit(rel, "", text, lines, tuple(raw.splitlines()))]


def _yaml_strings(node: yaml.Node, path: str):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _yaml_strings(value, f"{path}.{key.value}" if path else str(key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _yaml_strings(item, f"{path}[{i}]")
    elif isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        yield node.start_mark.line + 1, path, node.value


def _yaml_units(rel: str) -> list[Unit]:
    raw = (ROOT / rel).read_text(encoding="utf-8")
    root = yaml.compose(raw, Loader=yaml.SafeLoader)
    units = []
    for line, key, value in _yaml_strings(root, "") if root is not None else ():
        text, _ = _visible(value, _YAML_PLACEHOLDER, line)
        # A multi-line scalar is reported at the line where it starts.
        units.append(Unit(rel, f" ({key})", text, (line,) * len(text), (value,)))
    return units


def copy_files() -> list[str]:
    files = [p for d in TEMPLATE_DIRS for p in sorted((ROOT / d).rglob("*")) if p.is_file()]
    files += [p for p in sorted((ROOT / RULES_DIR).rglob("*")) if p.is_file() and p.suffix in (".yaml", ".yml")]
    return [p.relative_to(ROOT).as_posix() for p in files if p.relative_to(ROOT).as_posix() not in NOT_COPY]


def units_of(rel: str) -> list[Unit]:
    return _template_units(rel) if rel.startswith("templates/") else _yaml_units(rel)


def scan_text(text: str) -> list[tuple[int, str, str, str]]:
    """(offset, kind, matched text, why) for every hit in one piece of visible text."""
    found = []
    for kind, patterns in (("promise", _PROMISES), ("diagnosis", _DIAGNOSES)):
        for pattern, why in patterns:
            found += [(m.start(), kind, m.group(), why) for m in pattern.finditer(text)]
    offset = 0
    for sentence in _SENTENCE_END.split(text):
        start = text.find(sentence, offset)
        offset = start + len(sentence)
        for trigger, population, source in _POPULATIONS:
            m = trigger.search(sentence)
            if m and not population.search(sentence):
                found.append((start + m.start(), "population", m.group(),
                              f"a figure from another population: say whom it is from ({source})"))
    return sorted(found)


def scan(rel: str) -> list[Hit]:
    hits = []
    for unit in units_of(rel):
        for offset, kind, match, why in scan_text(unit.text):
            line = unit.lines[offset] if unit.lines else 0
            source = unit.raw_lines[line - 1] if unit.where == "" and line else unit.raw_lines[0]
            hits.append(Hit(rel, line, unit.where, kind, " ".join(match.split()), why, source))
    return hits


def _excused(hit: Hit) -> CopyException | None:
    return next((e for e in EXCEPTIONS if e.path == hit.path and e.text in hit.source_line), None)


FILES = copy_files()


def test_the_scan_covers_templates_and_rules_but_not_the_sources():
    assert any(f.startswith("templates/email/") for f in FILES)
    assert any(f.startswith("templates/public/") for f in FILES)
    assert "rules/sequences.yaml" in FILES and "rules/scoring/regions.yaml" in FILES
    assert "rules/sources.yaml" not in FILES


@pytest.mark.parametrize("rel", FILES)
def test_copy_makes_no_outcome_promise_diagnosis_or_borrowed_figure(rel: str):
    hits = [h for h in scan(rel) if _excused(h) is None]
    assert not hits, "Runner-facing copy breaks the copy rules:\n" + "\n".join(f"  {h}" for h in hits)


def test_every_exception_has_a_reason_and_is_still_needed():
    for e in EXCEPTIONS:
        assert e.reason.strip(), e
        assert any(_excused(h) is e for h in scan(e.path)), f"stale exception, remove it: {e}"


# The scanner itself: what it must catch and what it must leave alone.

BAD = [
    "Six weeks later the knee pain that had ended every long run was gone.",
    "How a desk-bound runner got her long runs back",
    "Finally, pain-free running.",
    "Run injury-free all season.",
    "Results guaranteed.",
    "The routine that fixes your hips.",
    "Strength work prevents injuries.",
    "This plan prevents running injuries.",
    "The strength that protects runners.",
    "This cuts your injury risk in half.",
    "You have patellofemoral pain.",
    "These answers suggest Achilles tendinopathy.",
    "Classic plantar fasciitis.",
    "Looks like ITBS.",
    "Possible RED-S.",
    "These answers suggest hypermobility syndrome.",
    "Think Ehlers-Danlos.",
    "The front of the thigh (rectus femoris) looks short.",
    "Your hip flexors are tight.",
    "You have tight hips.",
    "This is probably a stress fracture.",
    "Sleeping under 8 hours gives 1.7× the injury risk.",
    "Nordics halve hamstring injuries.",
    "The Copenhagen plank cut groin injuries by 41%.",
]

GOOD = [
    "These answers suggest the front of the hip looks tight in this test.",
    "The hanging knee straightened — the front of the thigh looks tight in this test.",
    "Skip this test if you have Achilles or calf pain right now.",
    "Has a doctor said you have a heart condition, or prescribed medication for your heart?",
    "Have you ever had a stress fracture or bone stress injury?",
    "Pinpoint bone pain, or pain when hopping, can be a sign of a bone stress injury — get it assessed.",
    "Outside of the knee (IT band)",
    "Five questions from a validated hypermobility questionnaire.",
    "Slow circles that keep the range you have and show where it is stuck.",
    "Programmes including Nordics roughly halved hamstring injuries in team sports.",
    "Adolescent athletes sleeping under 8 hours had 1.7× the injury risk (adult data are limited).",
    "In trials, strength programmes cut sports injuries to under a third.",
    "Her plan isn't yours, and results vary from runner to runner.",
    "These are coaching priorities, not a diagnosis or medical advice.",
    "Once you've been cleared, we'd love to help you get back to running well.",
]


@pytest.mark.parametrize("text", BAD)
def test_the_scanner_catches(text: str):
    assert scan_text(_visible(text, _TEMPLATE_MARKUP, 1)[0]), text


@pytest.mark.parametrize("text", GOOD)
def test_the_scanner_leaves_alone(text: str):
    assert scan_text(_visible(text, _TEMPLATE_MARKUP, 1)[0]) == [], text


def test_markup_does_not_hide_a_phrase():
    text, lines = _visible("the pain\n{# note #}<em>was</em>\n  {{ x }} gone.", _TEMPLATE_MARKUP, 1)
    [(offset, kind, _, _)] = scan_text(text)
    assert kind == "promise" and lines[offset] == 2


def test_the_case_story_says_results_vary():
    for part in ("txt", "html"):
        text, _ = _visible((ROOT / f"templates/email/nurture_case_story.{part}").read_text(encoding="utf-8"),
                           _TEMPLATE_MARKUP, 1)
        assert "results vary" in text.lower(), part
