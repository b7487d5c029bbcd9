"""The lock files pin everything pyproject.toml asks for, at versions it allows, the same in both."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from tests.conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
FIX = "run .ci/lock (needs uv) and commit requirements.lock and requirements-dev.lock"


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(filename: str) -> dict[str, str]:
    text = (ROOT / filename).read_text()
    assert "--hash=sha256:" in text
    return {_name(name): version for name, version in PIN.findall(text)}


def _wanted(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    if extra:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return wanted


def test_every_pin_has_hashes():
    for filename in ("requirements.lock", "requirements-dev.lock"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / filename).read_text().split("\n", 2)[2])
        assert all("--hash=sha256:" in block for block in blocks if "==" in block), filename


def test_the_locks_cover_pyproject():
    for filename, extra in (("requirements.lock", None), ("requirements-dev.lock", "test")):
        pins = _pins(filename)
        for requirement in _wanted(extra):
            name = _name(requirement.name)
            assert name in pins, f"{filename} lacks {requirement}: {FIX}"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{filename} pins {name}=={pins[name]}, pyproject.toml wants {requirement}: {FIX}")


def test_production_and_development_pin_the_same_versions():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}, FIX
