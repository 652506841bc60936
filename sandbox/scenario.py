"""Scenario files: YAML that seeds every stand-in's state.

Top-level keys: ``salesforce``, ``jira``, ``jira_server``, ``intercom``, ``jotform``, ``slack``,
``faults``. Each vendor module validates its own section. Strings may name another stand-in's base
URL as ``{salesforce}``, ``{jira}``... (filled in at start, when the ports are known).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("salesforce", "jira", "jira_server", "intercom", "jotform", "slack", "faults")
DEFAULT_SCENARIO = Path(__file__).parent / "scenarios" / "alice-leaving.yaml"


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message names the file and the key."""


def load_scenario(path: Path | str | None = None) -> dict[str, Any]:
    source = Path(path) if path else DEFAULT_SCENARIO
    try:
        data = yaml.safe_load(source.read_text())
    except FileNotFoundError as exc:
        raise ScenarioError(f"scenario file {source} does not exist; try {DEFAULT_SCENARIO}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario file {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario file {source} must be a mapping with keys {', '.join(SECTIONS)}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ScenarioError(f"scenario file {source}: unknown top-level key(s) {unknown}; allowed: {list(SECTIONS)}")
    return data


def fill_urls(value: Any, urls: dict[str, str]) -> Any:
    """Replace ``{host}`` placeholders with base URLs, recursively."""
    if isinstance(value, str):
        for host, url in urls.items():
            value = value.replace("{" + host + "}", url)
        return value
    if isinstance(value, list):
        return [fill_urls(v, urls) for v in value]
    if isinstance(value, dict):
        return {k: fill_urls(v, urls) for k, v in value.items()}
    return value
