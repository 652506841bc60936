"""Salesforce stand-in: ConnectedApplication and SetupEntityAccess (granting an app through a permission set),
the September-2025 rule for apps that are not installed, "Admin approved users are pre-authorized", at most
five tokens per user and app, and LoginHistory. Real clients only: simple-salesforce, authlib, httpx."""

from __future__ import annotations

import html
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from simple_salesforce import Salesforce, SalesforceExpiredSession, SalesforceGeneralError, SalesforceMalformedRequest

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

CALLBACK = "http://127.0.0.1:8765/oauth/callback"
USERS = {
    "bob@acme.example": ("bob-sf-Passw0rd", "BOBTOKEN0000000000000001"),
    "carol@acme.example": ("carol-sf-Passw0rd", "CAROLTOKEN00000000000001"),
}
SUCCESS = "https://login.salesforce.com/services/oauth2/success"  # Baton Integration's registered callback
APPS = {
    "Baton": ("baton-salesforce-client-0001", "baton-salesforce-secret-0001", CALLBACK),
    "Baton Integration": ("baton-integration-client-0001", "baton-integration-secret-0001", SUCCESS),
    "Acme Legacy Reports": ("acme-legacy-reports-client-0001", "acme-legacy-reports-secret-0001", CALLBACK),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def _tls(sb: Sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sb.ca_file)


def _session(sb: Sandbox, source_ip: str | None = None) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    session.headers["Connection"] = "close"
    if source_ip:
        session.headers["X-Forwarded-For"] = source_ip
    return session


def login(sb: Sandbox, username: str, source_ip: str | None = None) -> Salesforce:
    password, token = USERS[username]
    return Salesforce(username=username, password=password, security_token=token, session=_session(sb, source_ip))


@dataclass
class Ended:
    url: str
    text: str
    consent_shown: bool


def browse(sb: Sandbox, url: str, username: str) -> Ended:
    """A browser: log in, Allow on the consent page, stop at the first page that is neither (or off-site)."""
    base, consent = sb.urls["salesforce"], False
    with httpx.Client(verify=_tls(sb), headers={"Connection": "close"}) as browser:
        reply = browser.get(url)
        for _ in range(10):
            if reply.is_redirect:
                target = urljoin(str(reply.url), reply.headers["location"])
                if not target.startswith(base):
                    return Ended(target, "", consent)
                reply = browser.get(target)
            elif 'id="login_form"' in reply.text:
                start = html.unescape(re.search(r'name="startURL" value="([^"]*)"', reply.text).group(1))  # type: ignore[union-attr]
                reply = browser.post(
                    base + "/", data={"username": username, "pw": USERS[username][0], "startURL": start}
                )
            elif 'id="consent_form"' in reply.text:
                consent = True
                fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', reply.text))
                fields = {k: html.unescape(v) for k, v in fields.items()}
                reply = browser.post(base + "/services/oauth2/authorize", data={**fields, "decision": "Allow"})
            else:
                return Ended(str(reply.url), reply.text, consent)
    raise AssertionError("too many redirects")


def client(sb: Sandbox, app: str) -> OAuth2Client:
    client_id, secret, callback = APPS[app]
    return OAuth2Client(
        client_id, secret, redirect_uri=callback, scope="api refresh_token", code_challenge_method="S256",
        verify=_tls(sb), headers={"Connection": "close"},
    )  # fmt: skip


def start(sb: Sandbox, app: str, username: str) -> tuple[OAuth2Client, Ended, str]:
    oauth, verifier = client(sb, app), generate_token(48)
    url, _ = oauth.create_authorization_url(
        sb.urls["salesforce"] + "/services/oauth2/authorize", code_verifier=verifier
    )
    return oauth, browse(sb, url, username), verifier


def authorize(sb: Sandbox, app: str, username: str) -> tuple[OAuth2Client, dict[str, str], Ended]:
    oauth, ended, verifier = start(sb, app, username)
    assert ended.url.startswith(APPS[app][2]), ended.text[:300]
    token = oauth.fetch_token(
        sb.urls["salesforce"] + "/services/oauth2/token", authorization_response=ended.url, code_verifier=verifier
    )
    return oauth, dict(token), ended


def _error_of(ended: Ended) -> tuple[str, str]:
    query = parse_qs(urlsplit(ended.url).query)
    return query["error"][0], query["error_description"][0]


# -- ConnectedApplication and SetupEntityAccess ------------------------------------------------------------------
def test_connected_application_lists_installed_apps(sandbox: Sandbox) -> None:
    bob = login(sandbox, "bob@acme.example")
    rows = bob.query_all("SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication")["records"]
    by_name = {r["Name"]: r for r in rows}
    assert by_name["Baton Integration"]["OptionsAllowAdminApprovedUsersOnly"] is True
    assert by_name["Baton"]["OptionsAllowAdminApprovedUsersOnly"] is False
    assert by_name["Baton"]["Id"].startswith("0H4") and len(by_name["Baton"]["Id"]) == 18
    assert "Acme Legacy Reports" not in by_name  # not installed
    with pytest.raises(SalesforceGeneralError) as refused:  # all fields read-only: query and retrieve only
        bob.ConnectedApplication.create({"Name": "Sneaky"})
    assert refused.value.status == 405
    assert bob.ConnectedApplication.get(by_name["Baton"]["Id"])["Name"] == "Baton"


def test_setup_entity_access_grants_an_app_through_a_permission_set(sandbox: Sandbox) -> None:
    bob, carol = login(sandbox, "bob@acme.example"), login(sandbox, "carol@acme.example")
    app_id = bob.query("SELECT Id FROM ConnectedApplication WHERE Name = 'Baton Integration'")["records"][0]["Id"]
    ps = bob.PermissionSet.create({"Name": "Baton_Integration_Users", "Label": "Baton Integration Users"})["id"]
    grant = bob.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": app_id})["id"]
    rows = bob.query(
        f"SELECT Id, ParentId, SetupEntityId, SetupEntityType FROM SetupEntityAccess WHERE ParentId = '{ps}'"
    )["records"]
    assert [(r["Id"], r["SetupEntityId"], r["SetupEntityType"]) for r in rows] == [
        (grant, app_id, "ConnectedApplication")
    ]
    with pytest.raises(SalesforceMalformedRequest) as dup:
        bob.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": app_id})
    assert dup.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    carol_id = org_of(sandbox.world).user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    with pytest.raises(SalesforceMalformedRequest) as wrong:
        bob.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": carol_id})
    assert wrong.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        carol.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": app_id})
    assert refused.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    bob.SetupEntityAccess.delete(grant)
    assert bob.query(f"SELECT COUNT() FROM SetupEntityAccess WHERE ParentId = '{ps}'")["totalSize"] == 0


# -- the September-2025 rule and admin-approved apps --------------------------------------------------------------
def test_an_app_that_is_not_installed_cannot_be_authorized_by_end_users(sandbox: Sandbox) -> None:
    _oauth, ended, _ = start(sandbox, "Acme Legacy Reports", "carol@acme.example")
    assert urlsplit(ended.url).path == "/setup/secur/RemoteAccessErrorPage.apexp"
    assert _error_of(ended) == ("invalid_client", "app must be installed into org")
    assert "OAuth error" in ended.text
    # The System Administrator standard profile has "Approve Uninstalled Connected Apps".
    _oauth, token, _ = authorize(sandbox, "Acme Legacy Reports", "bob@acme.example")
    assert token["access_token"]
    # Users who authorized the app before the change keep using it.
    org_of(sandbox.world).grant("Acme Legacy Reports", "carol@acme.example")
    _oauth, token, _ = authorize(sandbox, "Acme Legacy Reports", "carol@acme.example")
    assert token["access_token"]


def test_admin_approved_app_refuses_users_not_granted_it(sandbox: Sandbox) -> None:
    _oauth, ended, _ = start(sandbox, "Baton Integration", "carol@acme.example")
    assert _error_of(ended) == ("OAUTH_APP_ACCESS_DENIED", "user is not admin approved to access this app")
    bob = login(sandbox, "bob@acme.example")
    org = org_of(sandbox.world)
    carol_id = org.user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    failed = bob.query(
        f"SELECT Status, Application FROM LoginHistory WHERE UserId = '{carol_id}' "
        "AND Status = 'Failed: Not approved for access'"
    )["records"]
    assert failed and failed[-1]["Application"] == "Baton Integration"

    app_id = bob.query("SELECT Id FROM ConnectedApplication WHERE Name = 'Baton Integration'")["records"][0]["Id"]
    ps = bob.PermissionSet.create({"Name": "Baton_Integration_Carol", "Label": "Baton Integration Carol"})["id"]
    grant = bob.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": app_id})["id"]
    assignment = bob.PermissionSetAssignment.create({"AssigneeId": carol_id, "PermissionSetId": ps})["id"]
    oauth, token, ended = authorize(sandbox, "Baton Integration", "carol@acme.example")
    assert not ended.consent_shown  # pre-authorized by an admin: nobody is asked to consent
    bob.SetupEntityAccess.delete(grant)
    with pytest.raises(OAuthError) as caught:
        oauth.refresh_token(sandbox.urls["salesforce"] + "/services/oauth2/token", refresh_token=token["refresh_token"])
    assert (caught.value.error, caught.value.description) == (
        "invalid_app_access",
        "user is not admin approved to access this app",
    )
    bob.PermissionSetAssignment.delete(assignment)


# -- five tokens per user and app ----------------------------------------------------------------------------------
def test_a_sixth_authorization_revokes_the_oldest(sandbox: Sandbox) -> None:
    bob = login(sandbox, "bob@acme.example")
    carol_id = org_of(sandbox.world).user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    rows_q = f"SELECT DeleteToken, CreatedDate FROM OauthToken WHERE AppName = 'Baton' AND UserId = '{carol_id}'"
    before = {r["DeleteToken"] for r in bob.query_all(rows_q)["records"]}
    grants = [authorize(sandbox, "Baton", "carol@acme.example") for _ in range(5 - len(before) + 1)]
    rows = bob.query_all(rows_q)["records"]
    assert len(rows) == 5
    first_client, first_token, _ = grants[0]
    base = sandbox.urls["salesforce"]
    if before:  # the oldest was from before this test: it is the one gone
        assert len(before - {r["DeleteToken"] for r in rows}) == 1
    else:
        with pytest.raises(OAuthError) as caught:
            first_client.refresh_token(base + "/services/oauth2/token", refresh_token=first_token["refresh_token"])
        assert caught.value.error == "invalid_grant"
        stale = Salesforce(instance_url=base, session_id=first_token["access_token"], session=_session(sandbox))
        with pytest.raises(SalesforceExpiredSession):
            stale.query("SELECT Id FROM User")
    newest_client, newest, _ = grants[-1]
    assert newest_client.refresh_token(base + "/services/oauth2/token", refresh_token=newest["refresh_token"])


# -- LoginHistory ------------------------------------------------------------------------------------------------
def test_login_history_records_every_login(sandbox: Sandbox) -> None:
    login(sandbox, "carol@acme.example", source_ip="203.0.113.7")
    with pytest.raises(Exception):  # noqa: B017 - simple-salesforce's authentication failure
        Salesforce(
            username="carol@acme.example",
            password="wrong",
            security_token="x",
            session=_session(sandbox, "198.51.100.9"),
        )
    authorize(sandbox, "Baton", "carol@acme.example")
    bob = login(sandbox, "bob@acme.example")
    carol_id = org_of(sandbox.world).user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    rows = bob.query_all(
        "SELECT UserId, LoginTime, SourceIp, LoginType, Status, Application, ApiType FROM LoginHistory "
        f"WHERE UserId = '{carol_id}' ORDER BY LoginTime"
    )["records"]
    seen = {(r["SourceIp"], r["LoginType"], r["Status"], r["Application"], r["ApiType"]) for r in rows}
    assert ("203.0.113.7", "Partner Product", "Success", "Partner Product", "SOAP Partner") in seen
    assert ("198.51.100.9", "Partner Product", "Invalid Password", "Partner Product", "SOAP Partner") in seen
    assert any(t == "Remote Access 2.0" and a == "Baton" and s == "Success" for _, t, s, a, _ in seen)
    assert all(r["LoginTime"] for r in rows)
