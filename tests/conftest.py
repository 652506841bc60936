"""Session fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.server import Sandbox

pytest_plugins = ["tests.stack", "tests.harness", "tests.figures"]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """Every stand-in on loopback, seeded from the shipped scenario, for the whole session.

    Tests that change state should create their own objects (unique names), or use ``fresh_sandbox``.
    """
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def fresh_sandbox() -> Iterator[Sandbox]:
    """A sandbox of its own for one test (about 0.2 s to start)."""
    with Sandbox() as sb:
        yield sb
