"""What the demo runs on, checked without starting anything: the README's command, the shipped catalog's
requests against the real handover flows' request models, and the successors the scenario seeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from baton.autopilot import sandbox_passwords
from flows.catalog import load_catalog
from flows.intercom_app_user import IntercomAppUserRequest
from flows.jotform_api_only_user import ApiOnlyUserRequest
from flows.plan import validate
from flows.salesforce_jira_connector import ConnectorHandoverRequest

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "deployments" / "catalog" / "alice-leaving.yaml"
MODELS: dict[str, type[BaseModel]] = {
    "rotate-salesforce-jira-connector": ConnectorHandoverRequest,
    "change-intercom-app-user": IntercomAppUserRequest,
    "create-jotform-api-only-user": ApiOnlyUserRequest,
}


def test_the_readme_starts_with_the_two_commands() -> None:
    block = re.search(r"```\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block and block.group(1).splitlines() == ["./run demo", "./run test"]


@pytest.mark.parametrize("entry", load_catalog(CATALOG).integrations, ids=lambda e: e.id)
def test_each_catalog_entry_is_a_valid_request_of_its_flow(entry: object) -> None:
    from flows.catalog import Integration

    assert isinstance(entry, Integration)
    req = validate(MODELS[entry.flow], entry.request("carol@acme.example"))
    data = req.model_dump()
    assert str(data.get("successor") or data.get("username")) == entry.successor
    if "variant" in data:
        assert data["variant"] == entry.variant


def test_the_connectors_successor_is_seeded_with_the_permission_set_the_leaver_holds() -> None:
    scenario = yaml.safe_load((ROOT / "sandbox" / "scenarios" / "alice-leaving.yaml").read_text())
    users = {u["username"]: u for u in scenario["salesforce"]["users"]}
    successor = users["jira-connector@acme.example"]
    assert successor.get("active", True) and "Jira_Connector_Access" in successor["permission_sets"]
    assert set(users["alice@acme.example"]["permission_sets"]) <= set(successor["permission_sets"])
    assert "sf:jira-connector@acme.example" in sandbox_passwords()
