"""Discovery against the Salesforce stand-in: what runs as alice@ is found live (OauthToken by UserId) and
set against the catalog; a seeded integration missing from the catalog is reported with what to add."""

from __future__ import annotations

from pathlib import Path

import pytest

from clients import salesforce_access as access
from clients.salesforce import SalesforceClient, make_session
from flows.catalog import Catalog, load_catalog
from flows.discovery import reconcile
from sandbox.salesforce import org_of
from sandbox.server import Sandbox

ROOT = Path(__file__).parents[2]
ALICE = "alice@acme.example"


def _admin(sb: Sandbox) -> SalesforceClient:
    session = make_session(sb.urls["salesforce"], sb.ca_file)
    return SalesforceClient.client_credentials(
        sb.urls["salesforce"], "baton-salesforce-client-0001", "baton-salesforce-secret-0001", session=session
    )


def _live(sb: Sandbox, person: str) -> dict[str, object]:
    sf = _admin(sb)
    user_id = access.user_id_of(sf, person)
    assert user_id
    return {"user_id": user_id, "grants": [g.__dict__ for g in access.grants_of(sf, user_id)]}


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(ROOT / "deployments" / "catalog" / "alice-leaving.yaml")


def test_the_shipped_scenario_matches_the_shipped_catalog(fresh_sandbox: Sandbox, catalog: Catalog) -> None:
    found = reconcile(catalog, ALICE, _live(fresh_sandbox, ALICE))
    assert {f.name: f.catalog_id for f in found.found} == {
        "Jira Cloud for Salesforce": "salesforce-jira-cloud",
        "Jira Server for Salesforce": "salesforce-jira-server",
        "Jotform": "jotform-contact-sales",
    }
    assert found.not_in_catalog == [] and found.not_found_live == []
    assert found.catalog_only == ["intercom-jira-app"]


def test_a_seeded_integration_missing_from_the_catalog_is_found_and_reported(
    fresh_sandbox: Sandbox, catalog: Catalog
) -> None:
    org = org_of(fresh_sandbox.world)
    org.register_connected_app("Zapier", "zapier-client-0001", "zapier-secret-0001", ["https://zapier.com/cb"])
    org.grant("Zapier", ALICE)  # alice authorised Zapier too; nobody told the catalog
    trimmed = catalog.model_copy(
        update={"integrations": [e for e in catalog.integrations if e.id != "jotform-contact-sales"]}
    )

    found = reconcile(trimmed, ALICE, _live(fresh_sandbox, ALICE))

    missing = {f.name: f.add for f in found.not_in_catalog}
    assert set(missing) == {"Zapier", "Jotform"}
    assert "no handover flow knows the connected app 'Zapier'" in missing["Zapier"]
    assert f"integration_user: {ALICE}" in missing["Zapier"]
    assert "flow: create-jotform-api-only-user" in missing["Jotform"]
    assert "connections: {salesforce: Jotform" in missing["Jotform"]
    text = found.markdown()
    assert "Found, but not in the catalog: add these" in text and "Zapier" in text
    assert found.as_dict()["not_in_catalog"][0]["name"] in ("Zapier", "Jotform")


def test_a_catalog_entry_not_found_live_is_named(fresh_sandbox: Sandbox, catalog: Catalog) -> None:
    org = org_of(fresh_sandbox.world)
    user = org.user_by_username(ALICE)
    assert user is not None
    for row in org.oauth_tokens_for(user["Id"]):
        if row["AppName"] == "Jira Server for Salesforce":
            org.revoke_row(row["Id"])  # the stand-in's own handle; Baton never keys on OauthToken.Id
    found = reconcile(catalog, ALICE, _live(fresh_sandbox, ALICE))
    assert found.not_found_live == ["salesforce-jira-server"]
    assert "not found live" in found.markdown()


def test_someone_with_no_integrations_has_none(fresh_sandbox: Sandbox, catalog: Catalog) -> None:
    found = reconcile(catalog, "carol@acme.example", _live(fresh_sandbox, "carol@acme.example"))
    assert found.in_catalog == [] and found.found == []


def test_freezing_is_idempotent_and_keeps_the_user(fresh_sandbox: Sandbox) -> None:
    sf = _admin(fresh_sandbox)
    user_id = access.user_id_of(sf, ALICE)
    assert user_id and not access.is_frozen(sf, user_id)
    assert access.freeze(sf, user_id) is True
    assert access.freeze(sf, user_id) is False  # already frozen: nothing sent
    assert access.is_frozen(sf, user_id)
    user = org_of(fresh_sandbox.world).user_by_username(ALICE)
    assert user is not None and user["IsActive"] is True  # frozen, never deactivated
