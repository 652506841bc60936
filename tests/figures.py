"""The security figures the tests produce (docs/SECURITY.md's table): a test calls ``record(name, **counts)``
and the session's terminal summary prints every figure recorded, one ``FIGURE`` line each, and writes them to
``var/security-figures.json`` so that the table can be checked against a real run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
FIGURES: dict[str, dict[str, Any]] = {}
OUT = ROOT / "var" / "security-figures.json"


def record(name: str, **counts: Any) -> None:
    """Keep *counts* under *name* (a later call with the same name adds to the counts that are numbers)."""
    kept = FIGURES.setdefault(name, {})
    for key, value in counts.items():
        if isinstance(value, int | float) and isinstance(kept.get(key), int | float):
            kept[key] += value
        else:
            kept[key] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("security figures (docs/SECURITY.md)")
    for name, counts in sorted(FIGURES.items()):
        terminalreporter.write_line(f"FIGURE {name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    OUT.parent.mkdir(exist_ok=True)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.write_text(json.dumps({**previous, **FIGURES}, indent=2, sort_keys=True))


@pytest.fixture
def figures() -> Any:
    """``figures(name, **counts)`` records a figure for docs/SECURITY.md."""
    return record
