"""Load every rule file, validate it (collecting all problems) and compile it once."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from coachapp.analytics.settings import InsightRules, load_insight_rules

from ._schema import Issues, Node, check_unique, file_header
from .conditions import RefType
from .derive import Derived, load_derived
from .flags import RiskFlag, SafetyConfig, load_flags, load_safety
from .library import Exercise, load_library
from .load_assessment import load_assessment, load_self_tests, question_labels
from .measurement import check_against as check_measurements
from .model import Assessment
from .plan_rules import Selection, load_selection
from .schedule import ScheduleConfig, load_schedule
from .scoring import RegionConfig, StabilityConfig, load_regions, load_stability

if TYPE_CHECKING:  # imported lazily in load_rules: coachapp.leads and .followups build on this package
    from coachapp.followups.policy import SequenceRules
    from coachapp.leads.priority import LeadRules
    from coachapp.leads.slots import BookingRules

FILES = (
    "sources.yaml",
    "assessment/self_tests.yaml",
    "assessment/runner_assessment.yaml",
    "derive/derived_values.yaml",
    "scoring/regions.yaml",
    "scoring/stability.yaml",
    "scoring/risk_flags.yaml",
    "exercises/library.yaml",
    "safety/red_flags.yaml",
    "plans/selection.yaml",
    "plans/schedules.yaml",
    "leads/assignment.yaml",
    "leads/priority.yaml",
    "sequences.yaml",
    "booking.yaml",
    "insights.yaml",
)


class RulesError(Exception):
    """Raised by load_rules with every problem found, each naming its file and rule."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__(
            f"{len(self.errors)} problem(s) in rules:\n" + "\n".join(f"- {e}" for e in self.errors)
        )


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    topic: str
    kind: str  # one of SOURCE_KINDS
    citation: str
    links: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    """The compiled rule set; ``version`` identifies its exact content."""

    version: str
    assessment: Assessment
    files: Mapping[str, int | str]
    sources: Mapping[str, Source]
    derived: tuple[Derived, ...]
    safety: SafetyConfig
    regions: RegionConfig
    stability: StabilityConfig
    flags: tuple[RiskFlag, ...]
    exercises: Mapping[str, Exercise]
    selection: Selection
    schedule: ScheduleConfig
    leads: LeadRules
    sequences: SequenceRules
    booking: BookingRules
    insights: InsightRules = InsightRules()


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader (libyaml when available) that rejects duplicate keys."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_texts(root: Path, errors: list[str]) -> dict[str, str]:
    """The rule files' texts (relative path → YAML text) of a folder; problems go to ``errors``.

    Every ``*.yaml``/``*.yml`` under ``root`` is read, so a file the loader does not know is
    reported by ``parse_texts`` exactly as it would be from a mapping stored elsewhere."""
    texts: dict[str, str] = {}
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        rel = path.relative_to(root).as_posix()
        try:
            texts[rel] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"{rel}: invalid YAML: {exc}".replace("\n", " "))
    return texts


def parse_texts(texts: Mapping[str, str], errors: list[str]) -> dict[str, Any]:
    """Parse the texts of the rule files (missing, unknown or invalid files go to ``errors``)."""
    data: dict[str, Any] = {}
    for rel in FILES:
        if rel not in texts:
            errors.append(f"{rel}: missing rule file")
            continue
        try:
            data[rel] = yaml.load(  # nosec B506  # _StrictLoader is a (C)SafeLoader subclass
                texts[rel], Loader=_StrictLoader)
        except yaml.YAMLError as exc:
            errors.append(f"{rel}: invalid YAML: {exc}".replace("\n", " "))
    known = set(FILES)
    for rel in sorted(texts):
        if rel not in known:
            errors.append(f"{rel}: unknown rule file (expected one of: {', '.join(FILES)})")
    return data


def content_version(data: Mapping[str, Any]) -> str:
    """'sha256:' + 16 hex of the sorted paths and their parsed data as sorted-key JSON."""
    canonical = json.dumps(
        [[rel, data[rel]] for rel in sorted(data)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


SOURCE_KINDS = ("peer_reviewed", "guideline", "practitioner")
_MIRROR_HOSTS = ("reddit", "redlib", "scribd", "studylib", "livrozilla", "coek.info")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


def _weak_link(url: str) -> str | None:
    """Why a source link is unacceptable (raw IP host, forum, reddit, paper mirror), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host)
        return "has a raw IP address as host; link the publisher, PubMed/PMC or DOI instead"
    except ValueError:
        pass
    mirror = next((m for m in _MIRROR_HOSTS if m in host), None)
    forum = host.startswith(("forum.", "forums.")) or "/forums/" in parts.path.lower()
    if mirror or forum:
        return f"is a forum or paper mirror ({mirror or 'forum'}); cite the primary reference"
    return None


def _sources(data: Any, issues: Issues) -> dict[str, Source]:
    head = file_header(data, issues, ("sources",))
    entries = head.list("sources")
    check_unique([e.get("id") for e in entries if isinstance(e, Mapping)], "source", issues)
    out = {}
    for raw in entries:
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        required = ("id", "kind", "citation")
        node = Node(raw, f"source '{ident}'", issues, required, ("topic", "links"))
        kind = node.choice("kind", SOURCE_KINDS) or ""
        citation = node.str("citation") or ""
        links = node.str_list("links")
        for link in links:
            if problem := _weak_link(link):
                issues.add(node.where, f"link '{link}' {problem}")
        if kind == "peer_reviewed" and citation and not _YEAR.search(citation):
            issues.add(node.where, "a peer_reviewed citation must name its year (19xx or 20xx)")
        out[str(ident)] = Source(
            id=str(ident), topic=node.str("topic") or "", kind=kind, citation=citation, links=links
        )
    return out


def load_rules(root: Path | str) -> Rules:
    """Load and validate the rules folder; raise RulesError listing every problem."""
    errors: list[str] = []
    texts = read_texts(Path(root), errors)
    if errors:
        raise RulesError(errors)
    return load_rules_from_texts(texts)


def load_rules_from_texts(texts: Mapping[str, str]) -> Rules:
    """Load and validate rule files given as texts (relative path → YAML), e.g. a version
    stored in the database: the same checks, errors and version hash as from a folder."""
    errors: list[str] = []
    data = parse_texts(texts, errors)
    if errors:
        raise RulesError(errors)

    def issues(rel: str) -> Issues:
        return Issues(errors, rel)

    sources = _sources(data["sources.yaml"], issues("sources.yaml"))
    tests = load_self_tests(
        data["assessment/self_tests.yaml"], issues("assessment/self_tests.yaml"), sources
    )
    refs: dict[str, RefType] = {}
    assessment = load_assessment(
        data["assessment/runner_assessment.yaml"],
        tests,
        issues("assessment/runner_assessment.yaml"),
        refs,
    )
    check_measurements(tests, assessment, issues("assessment/self_tests.yaml"))
    used = {q.test.id for q in assessment.questions if q.test}
    for unused in sorted(set(tests) - used):
        issues("assessment/self_tests.yaml").add(f"test '{unused}'", "not used by any question")
    derived_file = data["derive/derived_values.yaml"]
    derived_head = file_header(derived_file, issues("derive/derived_values.yaml"), ("derived",))
    derived = load_derived(
        derived_head.raw("derived"), refs, issues("derive/derived_values.yaml"), sources
    )
    labels = question_labels(assessment)
    labels.update({d.key: labels.get(d.args[0], {}) for d in derived if d.rtype.kind == "choice"})
    base_refs = dict(refs)

    regions = load_regions(
        data["scoring/regions.yaml"], issues("scoring/regions.yaml"), base_refs, labels, sources
    )
    stability = load_stability(
        data["scoring/stability.yaml"], issues("scoring/stability.yaml"), base_refs, labels, sources
    )
    score_refs = {**base_refs, **{f"score.{r.id}": RefType("number") for r in regions.regions}}
    score_refs[f"score.{stability.id}"] = RefType("number")
    flags = load_flags(
        data["scoring/risk_flags.yaml"],
        issues("scoring/risk_flags.yaml"),
        score_refs,
        labels,
        sources,
    )
    region_ids = tuple(r.id for r in regions.regions)
    exercises, areas = load_library(
        data["exercises/library.yaml"], issues("exercises/library.yaml"), region_ids, sources
    )
    gate_targets = {
        "no_high_intensity": sum(e.intensity == "high" for e in exercises.values()),
        "no_load_progression": sum(e.progressive for e in exercises.values()),
    }
    safety = load_safety(
        data["safety/red_flags.yaml"],
        issues("safety/red_flags.yaml"),
        base_refs,
        labels,
        sources,
        areas,
        gate_targets,
    )
    flag_ids = {f.id for f in flags}
    plan_refs = {**score_refs, "flags": RefType("flags", frozenset(flag_ids))}
    selection = load_selection(
        data["plans/selection.yaml"],
        issues("plans/selection.yaml"),
        plan_refs,
        labels,
        exercises,
        region_ids,
        flag_ids,
    )
    schedule = load_schedule(
        data["plans/schedules.yaml"], issues("plans/schedules.yaml"), plan_refs, labels, flag_ids
    )
    from coachapp.leads.priority import lead_fact_types, load_lead_rules

    leads = load_lead_rules(
        data["leads/priority.yaml"],
        data["leads/assignment.yaml"],
        issues("leads/priority.yaml"),
        issues("leads/assignment.yaml"),
        lead_fact_types(base_refs, frozenset(flag_ids)),
        labels,
    )
    from coachapp.followups.policy import load_sequence_rules

    sequences = load_sequence_rules(data["sequences.yaml"], issues("sequences.yaml"))
    from coachapp.leads.slots import load_booking_rules

    booking = load_booking_rules(data["booking.yaml"], issues("booking.yaml"), sequences.windows)
    insights = load_insight_rules(data["insights.yaml"], issues("insights.yaml"))
    if errors:
        raise RulesError(errors)
    return Rules(
        version=content_version(data),
        assessment=assessment,
        files=MappingProxyType({rel: data[rel].get("version") for rel in FILES}),
        sources=MappingProxyType(sources),
        derived=derived,
        safety=safety,
        regions=regions,
        stability=stability,
        flags=flags,
        exercises=MappingProxyType(exercises),
        selection=selection,
        schedule=schedule,
        leads=leads,
        sequences=sequences,
        booking=booking,
        insights=insights,
    )
