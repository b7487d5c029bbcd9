"""A throwaway copy of the real rules/ folder to break one thing at a time."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from coachapp.assessment import RulesError, load_rules

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

Edit = Callable[[Any], None]


def broken_rules(tmp_path: Path) -> Callable[[Mapping[str, Edit | None]], list[str]]:
    """``apply({"leads/priority.yaml": edit, ...})`` edits the parsed files in the copy, loads it
    and returns the errors (loading must fail). ``apply.root`` is the copy's folder."""
    root = tmp_path / "rules"
    shutil.copytree(RULES_DIR, root)

    def apply(edits: Mapping[str, Edit | None]) -> list[str]:
        for rel, edit in edits.items():
            if edit is None:
                continue
            path = root / rel
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            edit(data)
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        with pytest.raises(RulesError) as info:
            load_rules(root)
        return info.value.errors

    apply.root = root  # type: ignore[attr-defined]
    return apply
