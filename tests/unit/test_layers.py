"""The direction of imports: core ← clients ← tasks ← flows; gateway → clients; the tools in baton/ import
everything and nothing imports them; the sandbox imports none of Baton's packages. And small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("core", "clients", "tasks", "flows", "gateway", "baton", "sandbox", "deployments")
# what each package may import of Baton's own packages
ALLOWED = {
    "core": {"core"},
    "clients": {"core", "clients"},
    "tasks": {"core", "clients", "tasks"},
    "flows": {"core", "clients", "tasks", "flows"},
    "gateway": {"core", "clients", "gateway"},
    "deployments": {"core", "clients", "deployments"},
    "sandbox": {"sandbox"},
    "baton": set(PACKAGES),
}
MAX_LINES = 400


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_run_one_way(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - ALLOWED[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert not {k: v for k, v in wrong.items() if v}, f"{package}/ imports what it may not"


@pytest.mark.parametrize("package", ["flows", "tasks", "clients", "gateway"])
def test_modules_stay_small(package: str) -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"
