"""The integration catalog: the shipped one loads; a bad one is refused naming the entry and the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from flows.catalog import CatalogError, load_catalog, parse_catalog

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "deployments" / "catalog" / "alice-leaving.yaml"


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED.read_text())
    return copy.deepcopy(data)


def test_the_shipped_catalog_loads_and_is_the_settings_default() -> None:
    catalog = load_catalog(SHIPPED)
    assert {entry.id for entry in catalog.of("Alice@acme.example")} == {
        "salesforce-jira-cloud",
        "salesforce-jira-server",
        "intercom-jira-app",
        "jotform-contact-sales",
    }
    assert catalog.of("bob@acme.example") == []
    cloud = catalog.by_id("salesforce-jira-cloud")
    assert (cloud.flow, cloud.variant, cloud.target()) == (
        "rotate-salesforce-jira-connector",
        "cloud",
        "rotate-salesforce-jira-connector/rotate-salesforce-jira-connector",
    )
    request = cloud.request("carol@acme.example")
    assert request["integration_id"] == "salesforce-jira-cloud" and request["requested_by"] == "carol@acme.example"
    assert request["connection_id"] == "10001"
    assert Settings.model_fields["catalog_path"].default == "deployments/catalog/alice-leaving.yaml"


def _entry(index: int, **changes: Any) -> dict[str, Any]:
    data = raw()
    entry = data["integrations"][index]
    for key, value in changes.items():
        if value is ...:
            entry.pop(key)
        else:
            entry[key] = value
    return data


BAD = [
    (_entry(0, successor="not-an-address"), "integrations[salesforce-jira-cloud].successor"),
    (_entry(0, successor="alice@acme.example"), "integrations[salesforce-jira-cloud].successor"),
    (_entry(1, variant="onprem"), "integrations[salesforce-jira-server].variant"),
    (_entry(1, variant=...), "integrations[salesforce-jira-server].variant"),
    (_entry(2, variant="cloud"), "integrations[intercom-jira-app].variant"),
    (_entry(2, flow="rotate-everything"), "integrations[intercom-jira-app].flow"),
    (_entry(3, approvers=[]), "integrations[jotform-contact-sales].approvers"),
    (_entry(3, approvers=["bob"]), "integrations[jotform-contact-sales].approvers.0"),
    (_entry(3, max_credential_age_days=0), "integrations[jotform-contact-sales].max_credential_age_days"),
    (_entry(3, slack_channel="it handover"), "integrations[jotform-contact-sales].slack_channel"),
    (_entry(3, systems=["jotform", "zendesk"]), "integrations[jotform-contact-sales].systems.1"),
    (_entry(3, connections={"jotform": "Contact Sales"}), "integrations[jotform-contact-sales].connections"),
    (_entry(3, integration_user=...), "integrations[jotform-contact-sales].integration_user"),
    (_entry(3, parameters={"requested_by": "x@acme.example"}), "integrations[jotform-contact-sales].parameters"),
    (_entry(3, expected_minutes="soon"), "integrations[jotform-contact-sales].expected_minutes"),
    (_entry(3, freeze_leaver_after="maybe"), "integrations[jotform-contact-sales].freeze_leaver_after"),
    (_entry(3, deployment="no-slash"), "integrations[jotform-contact-sales].deployment"),
    (_entry(3, owner="alice"), "integrations[jotform-contact-sales].owner"),
    (_entry(2, id="Intercom App!"), "integrations[2].id"),
    (_entry(2, id=...), "integrations[2].id"),
    (_entry(2, id="salesforce-jira-cloud"), "integrations[salesforce-jira-cloud].id: entries 0 and 2"),
    ({"organisation": "Acme", "integrations": []}, "integrations"),
    ({"integrations": raw()["integrations"]}, "organisation"),
    ({"organisation": "Acme", "integrations": ["salesforce-jira-cloud"]}, "integrations[0]"),
]


@pytest.mark.parametrize(("data", "where"), BAD, ids=[where for _, where in BAD])
def test_a_bad_catalog_is_refused_naming_the_entry_and_the_field(data: dict[str, Any], where: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, "catalog.yaml")
    message = str(caught.value)
    assert message.startswith("catalog.yaml is not usable (nothing was run); fix: "), message
    assert where in message, message
    assert len(message.split("; fix: ")[1].split("; ")) <= 2, "one mistake, one (or two) lines"


def test_every_mistake_is_named_at_once() -> None:
    data = raw()
    data["integrations"][0]["successor"] = "nobody"
    data["integrations"][3]["max_credential_age_days"] = -1
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    assert "integrations[salesforce-jira-cloud].successor" in str(caught.value)
    assert "integrations[jotform-contact-sales].max_credential_age_days" in str(caught.value)


def test_a_missing_or_broken_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="BATON_CATALOG_PATH"):
        load_catalog(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("integrations: [\n")
    with pytest.raises(CatalogError, match="is not YAML"):
        load_catalog(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- id: x\n")
    with pytest.raises(CatalogError, match="must be a mapping"):
        load_catalog(listed)
