"""sources.yaml quality: every source has a kind, no weak links (raw IP hosts, forums/reddit,
file-sharing copies of papers) and every peer-reviewed citation names its year."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from coachapp.assessment import RulesError, load_rules
from coachapp.assessment._schema import Issues
from coachapp.assessment.rules import SOURCE_KINDS, _sources
from tests.rules_copy import broken_rules

from .helpers import RULES_DIR

YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


def real_sources_data() -> dict[str, Any]:
    return yaml.safe_load((RULES_DIR / "sources.yaml").read_text(encoding="utf-8"))


def source(data: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(s for s in data["sources"] if s["id"] == ident)


def sources_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if e.startswith("sources.yaml")]


@pytest.fixture
def broken(tmp_path: Path) -> Callable[[Callable[[Any], None]], list[str]]:
    """Edit a copy of the real sources.yaml, load the copied rules, return sources.yaml's errors."""
    apply = broken_rules(tmp_path)
    return lambda edit: sources_errors(apply({"sources.yaml": edit}))


def test_real_sources_file_passes() -> None:
    errors: list[str] = []
    sources = _sources(real_sources_data(), Issues(errors, "sources.yaml"))
    assert errors == []
    assert len(sources) == 81
    assert {s.kind for s in sources.values()} == set(SOURCE_KINDS)


def test_real_sources_file_adds_no_error_to_load_rules() -> None:
    try:
        rules = load_rules(RULES_DIR)
    except RulesError as exc:  # other rule files may be mid-edit; sources.yaml must be clean
        assert sources_errors(exc.errors) == []
    else:
        assert rules.sources["R7"].kind == "peer_reviewed"


def test_real_sources_keep_primary_references() -> None:
    errors: list[str] = []
    sources = _sources(real_sources_data(), Issues(errors, "sources.yaml"))
    assert sources["R7"].links[0] == "https://pubmed.ncbi.nlm.nih.gov/40623829/"
    assert sources["S1"].links == () and "Aust J Physiother" in sources["S1"].citation
    assert sources["SF1"].kind == "guideline" and sources["E7"].kind == "practitioner"


def test_undated_practitioner_citations_say_so() -> None:
    for raw in real_sources_data()["sources"]:
        if raw["kind"] == "practitioner" and not YEAR.search(raw["citation"]):
            assert "undated practitioner page" in raw["citation"], raw["id"]


@pytest.mark.parametrize(
    ("ident", "link", "reason"),
    [
        ("R7", "http://47.251.13.51:8081/40623829", "raw IP address"),
        ("S6", "http://[2001:db8::1]/paper", "raw IP address"),
        ("E7", "https://redlib.cakez.net/r/Kinstretch/comments/16cg5mj/", "(redlib)"),
        ("E7", "https://www.reddit.com/r/Kinstretch/comments/16cg5mj/", "(reddit)"),
        ("SF1", "https://obesityhelp.com/forums/fitness/cmsID,2801/mode,content", "(forum)"),
        ("S10", "https://ru.scribd.com/document/92891208/A-Randomized-Trial", "(scribd)"),
        ("R21", "https://scribd.com/document/640250817/41598-2021-Article-85520", "(scribd)"),
        ("S1", "https://studylib.net/doc/25262948/bennell-et-al", "(studylib)"),
        ("R3", "https://livrozilla.com/doc/1611826/what-are-the-main-risk-factors", "(livrozilla)"),
    ],
)
def test_weak_link_is_rejected(broken, ident: str, link: str, reason: str) -> None:
    errors = broken(lambda d: source(d, ident).setdefault("links", []).append(link))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"sources.yaml: source '{ident}': link '{link}'")
    assert reason in errors[0]


def test_missing_kind_is_rejected(broken) -> None:
    errors = broken(lambda d: source(d, "S3").pop("kind"))
    assert errors == ["sources.yaml: source 'S3': missing required key 'kind'"]


def test_unknown_kind_is_rejected(broken) -> None:
    errors = broken(lambda d: source(d, "E10").update(kind="blog"))
    assert len(errors) == 1
    assert errors[0].startswith("sources.yaml: source 'E10': 'kind' must be one of")


def test_undated_peer_reviewed_citation_is_rejected(broken) -> None:
    errors = broken(lambda d: source(d, "R11").update(citation="Toresdahl BG et al."))
    assert errors == [
        "sources.yaml: source 'R11': a peer_reviewed citation must name its year (19xx or 20xx)"
    ]


def test_undated_guideline_and_practitioner_citations_are_accepted() -> None:
    data = real_sources_data()
    source(data, "SF1").update(citation="PAR-Q items (CSEP).")
    source(data, "E8").update(citation="CARs — undated practitioner pages.")
    errors: list[str] = []
    _sources(data, Issues(errors, "sources.yaml"))
    assert errors == []
