"""Salesforce stand-in: OauthToken as the Object Reference describes it — the Id is always null (revocation
goes through DeleteToken), and only users with Customize Application see other users' tokens — plus
UserPermissionAccess (the querying user's effective permissions). Real simple-salesforce only."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
import requests
from simple_salesforce import Salesforce, SalesforceResourceNotFound

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

USERS = {
    "bob@acme.example": ("bob-sf-Passw0rd", "BOBTOKEN0000000000000001"),
    "carol@acme.example": ("carol-sf-Passw0rd", "CAROLTOKEN00000000000001"),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this module's own: these tests grant and revoke."""
    with Sandbox() as sb:
        yield sb


def _session(sb: Sandbox) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    session.headers["Connection"] = "close"
    return session


def login(sb: Sandbox, username: str) -> Salesforce:
    password, token = USERS[username]
    return Salesforce(username=username, password=password, security_token=token, session=_session(sb))


def _apps_by_user(sf: Salesforce) -> set[tuple[str, str]]:
    rows = sf.query_all("SELECT AppName, User.Username FROM OauthToken")["records"]
    return {(r["AppName"], r["User"]["Username"]) for r in rows}


def test_oauth_token_id_is_always_null(sandbox: Sandbox) -> None:
    bob = login(sandbox, "bob@acme.example")
    rows = bob.query_all("SELECT Id, AppName, DeleteToken, UserId FROM OauthToken")["records"]
    assert len(rows) >= 3 and all(r["Id"] is None for r in rows)
    assert all(r["DeleteToken"] for r in rows)
    assert bob.query("SELECT COUNT() FROM OauthToken WHERE Id != null")["totalSize"] == 0
    internal = org_of(sandbox.world).store.all("OauthToken")[0]["Id"]  # the stand-in's own key, never shown
    with pytest.raises(SalesforceResourceNotFound):
        bob.OauthToken.get(internal)


def test_only_customize_application_sees_other_users_tokens(sandbox: Sandbox) -> None:
    org = org_of(sandbox.world)
    org.grant("Baton", "carol@acme.example")
    bob, carol = login(sandbox, "bob@acme.example"), login(sandbox, "carol@acme.example")
    assert {("Jotform", "alice@acme.example"), ("Baton", "carol@acme.example")} <= _apps_by_user(bob)
    assert _apps_by_user(carol) == {("Baton", "carol@acme.example")}
    alice = org.user_by_username("alice@acme.example")["Id"]  # type: ignore[index]
    assert carol.query(f"SELECT COUNT() FROM OauthToken WHERE UserId = '{alice}'")["totalSize"] == 0
    perms = "SELECT PermissionsCustomizeApplication, PermissionsManageUsers FROM UserPermissionAccess"
    assert bob.query(perms)["records"][0]["PermissionsCustomizeApplication"] is True
    assert carol.query(perms)["records"][0]["PermissionsCustomizeApplication"] is False

    # A permission set granting Customize Application widens carol's view.
    ps = bob.PermissionSet.create(
        {"Name": "Token_Viewer", "Label": "Token Viewer", "PermissionsCustomizeApplication": True}
    )
    carol_id = org.user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    psa = bob.PermissionSetAssignment.create({"AssigneeId": carol_id, "PermissionSetId": ps["id"]})
    assert carol.query(perms)["records"][0]["PermissionsCustomizeApplication"] is True
    assert ("Jotform", "alice@acme.example") in _apps_by_user(carol)
    bob.PermissionSetAssignment.delete(psa["id"])
    assert _apps_by_user(carol) == {("Baton", "carol@acme.example")}


def test_revocation_is_by_delete_token(sandbox: Sandbox) -> None:
    org = org_of(sandbox.world)
    refresh = org.grant("Jira Cloud for Salesforce", "carol@acme.example")
    carol = login(sandbox, "carol@acme.example")
    rows = carol.query("SELECT DeleteToken FROM OauthToken WHERE AppName = 'Jira Cloud for Salesforce'")["records"]
    assert len(rows) == 1
    base = sandbox.urls["salesforce"]
    with httpx.Client(
        verify=ssl.create_default_context(cafile=sandbox.ca_file), headers={"Connection": "close"}
    ) as plain:
        assert plain.post(base + "/services/oauth2/revoke", data={"token": rows[0]["DeleteToken"]}).status_code == 200
        stale = plain.post(
            base + "/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": "jira-cloud-for-salesforce-client-0001",
                "client_secret": "jira-cloud-for-salesforce-secret-0001",
            },
        )
    assert stale.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    assert carol.query("SELECT COUNT() FROM OauthToken WHERE AppName = 'Jira Cloud for Salesforce'")["totalSize"] == 0
