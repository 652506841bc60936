"""Salesforce stand-in: OAuth 2.0 through authlib — authorization code with PKCE (login and consent
pages driven with httpx), refresh-token rotation, revocation, and the OAuth error shapes."""

from __future__ import annotations

import html
import re
import ssl
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from simple_salesforce import (
    Salesforce,
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

CALLBACK = "http://127.0.0.1:8765/oauth/salesforce/callback"
BATON = {"client_id": "baton-salesforce-client-0001", "client_secret": "baton-salesforce-secret-0001"}
PASSWORDS = {
    "carol@acme.example": "carol-sf-Passw0rd",
    "alice@acme.example": "alice-sf-Passw0rd",
    "nora@acme.example": "nora-sf-Passw0rd",
    "bob@acme.example": "bob-sf-Passw0rd",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this module's own: these tests authorize apps and revoke tokens."""
    with Sandbox() as sb:
        yield sb


def _tls(sb: Sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sb.ca_file)


def rest_session(sb: Sandbox) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    session.headers["Connection"] = "close"
    return session


def oauth_client(sb: Sandbox, redirect_uri: str = CALLBACK, **app: str) -> OAuth2Client:
    creds = app or BATON
    return OAuth2Client(
        creds["client_id"],
        creds["client_secret"],
        redirect_uri=redirect_uri,
        scope="api refresh_token",
        code_challenge_method="S256",
        verify=_tls(sb),
        headers={"Connection": "close"},
    )


def browse(sb: Sandbox, url: str, username: str, password: str, decision: str = "Allow") -> str:
    """Play the browser: follow the stand-in's redirects, fill in the login form, answer the consent
    page; returns the URL Salesforce finally redirects to (the app's callback)."""
    base = sb.urls["salesforce"]
    with httpx.Client(verify=_tls(sb), headers={"Connection": "close"}) as browser:
        reply = browser.get(url)
        for _ in range(10):
            if reply.is_redirect:
                target = urljoin(str(reply.url), reply.headers["location"])
                if not target.startswith(base):
                    return target
                reply = browser.get(target)
            elif 'id="login_form"' in reply.text:
                start = html.unescape(re.search(r'name="startURL" value="([^"]*)"', reply.text).group(1))  # type: ignore[union-attr]
                reply = browser.post(base + "/", data={"username": username, "pw": password, "startURL": start})
                assert reply.is_redirect, "login failed"
            elif 'id="consent_form"' in reply.text:
                fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', reply.text))
                fields = {k: html.unescape(v) for k, v in fields.items()}
                reply = browser.post(base + "/services/oauth2/authorize", data={**fields, "decision": decision})
            else:
                raise AssertionError(f"unexpected page {reply.status_code}: {reply.text[:300]}")
    raise AssertionError("too many redirects")


def authorize(sb: Sandbox, username: str, client: OAuth2Client | None = None) -> tuple[OAuth2Client, dict[str, str]]:
    client = client or oauth_client(sb)
    verifier = generate_token(48)
    url, _state = client.create_authorization_url(
        sb.urls["salesforce"] + "/services/oauth2/authorize", code_verifier=verifier
    )
    callback = browse(sb, url, username, PASSWORDS[username])
    token = client.fetch_token(
        sb.urls["salesforce"] + "/services/oauth2/token", authorization_response=callback, code_verifier=verifier
    )
    return client, dict(token)


def test_code_flow_with_pkce_then_simple_salesforce(sandbox: Sandbox) -> None:
    _client, token = authorize(sandbox, "carol@acme.example")
    org = org_of(sandbox.world)
    carol = org.user_by_username("carol@acme.example")
    assert carol is not None
    assert token["token_type"] == "Bearer" and token["instance_url"] == sandbox.urls["salesforce"]
    assert token["id"] == f"{sandbox.urls['salesforce']}/id/{org.org_id}/{carol['Id']}"
    assert token["refresh_token"] and token["issued_at"].isdigit() and token["signature"]
    sf = Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=rest_session(sandbox))
    rows = sf.query(f"SELECT AppName, UserId, UseCount, User.Username FROM OauthToken WHERE UserId = '{carol['Id']}'")
    assert [r["AppName"] for r in rows["records"]] == ["Baton"]
    assert rows["records"][0]["User"]["Username"] == "carol@acme.example"
    assert org.authorized_user("Baton")["Username"] == "carol@acme.example"  # type: ignore[index]
    assert [t["AppName"] for t in org.oauth_tokens_for(carol["Id"])] == ["Baton"]
    info = (
        rest_session(sandbox)
        .get(
            sandbox.urls["salesforce"] + "/services/oauth2/userinfo",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        .json()
    )
    assert info["preferred_username"] == "carol@acme.example" and info["organization_id"] == org.org_id
    ident = rest_session(sandbox).get(token["id"], headers={"Authorization": f"Bearer {token['access_token']}"})
    assert ident.json()["username"] == "carol@acme.example"


def test_refresh_token_rotation(sandbox: Sandbox) -> None:
    client, token = authorize(sandbox, "bob@acme.example")
    url = sandbox.urls["salesforce"] + "/services/oauth2/token"
    renewed = client.refresh_token(url, refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]  # Baton's app rotates refresh tokens
    assert renewed["access_token"] != token["access_token"]
    with pytest.raises(OAuthError) as caught:
        client.refresh_token(url, refresh_token=token["refresh_token"])
    assert (caught.value.error, caught.value.description) == ("invalid_grant", "expired access/refresh token")
    again = client.refresh_token(url, refresh_token=renewed["refresh_token"])
    assert again["access_token"]


def test_refresh_without_rotation_keeps_token(sandbox: Sandbox) -> None:
    org = org_of(sandbox.world)
    app = org.connected_app("Jotform")
    assert app is not None and not app.rotate_refresh_tokens
    creds = {"client_id": app.client_id, "client_secret": app.client_secret}
    client, token = authorize(sandbox, "nora@acme.example", oauth_client(sandbox, app.redirect_uris[0], **creds))
    url = sandbox.urls["salesforce"] + "/services/oauth2/token"
    renewed = client.refresh_token(url, refresh_token=token["refresh_token"])
    assert "refresh_token" not in renewed or renewed["refresh_token"] == token["refresh_token"]
    assert client.refresh_token(url, refresh_token=token["refresh_token"])["access_token"]
    # nora's profile is not API enabled: her token works for OAuth but not for the REST API.
    sf = Salesforce(
        instance_url=token["instance_url"], session_id=renewed["access_token"], session=rest_session(sandbox)
    )
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.content[0]["errorCode"] == "API_DISABLED_FOR_ORG"


def _code(sb: Sandbox, username: str) -> tuple[OAuth2Client, str, str]:
    client = oauth_client(sb)
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(
        sb.urls["salesforce"] + "/services/oauth2/authorize", code_verifier=verifier
    )
    return client, browse(sb, url, username, PASSWORDS[username]), verifier


def test_pkce_and_code_errors(sandbox: Sandbox) -> None:
    url = sandbox.urls["salesforce"] + "/services/oauth2/token"
    client, callback, _verifier = _code(sandbox, "alice@acme.example")
    with pytest.raises(OAuthError) as caught:
        client.fetch_token(url, authorization_response=callback, code_verifier=generate_token(48))
    assert (caught.value.error, caught.value.description) == ("invalid_request", "invalid code verifier")

    client, callback, _verifier = _code(sandbox, "alice@acme.example")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    with httpx.Client(verify=_tls(sandbox)) as plain:
        reply = plain.post(
            url, data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **BATON}
        )
    assert reply.status_code == 400
    assert reply.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}

    client, callback, verifier = _code(sandbox, "alice@acme.example")
    client.fetch_token(url, authorization_response=callback, code_verifier=verifier)
    with pytest.raises(OAuthError) as caught:  # a code works once
        client.fetch_token(url, authorization_response=callback, code_verifier=verifier)
    assert caught.value.error == "invalid_grant"


def test_token_endpoint_errors(sandbox: Sandbox) -> None:
    url = sandbox.urls["salesforce"] + "/services/oauth2/token"
    cases = [
        ({"grant_type": "refresh_token", "refresh_token": "5Aep861nope", **BATON}, "invalid_grant"),
        ({"grant_type": "password", "username": "ghost@acme.example", "password": "x", **BATON}, "invalid_grant"),
        (
            {
                "grant_type": "password",
                "username": "bob@acme.example",
                "password": "x",
                "client_id": "nope",
                "client_secret": "x",
            },
            "invalid_client_id",
        ),
        (
            {"grant_type": "client_credentials", "client_id": BATON["client_id"], "client_secret": "bad"},
            "invalid_client",
        ),
        ({"grant_type": "magic", **BATON}, "unsupported_grant_type"),
    ]
    with httpx.Client(verify=_tls(sandbox)) as plain:
        for data, error in cases:
            reply = plain.post(url, data=data)
            assert reply.status_code == 400, data
            assert set(reply.json()) == {"error", "error_description"} and reply.json()["error"] == error


def test_deny_and_bad_authorize_requests(sandbox: Sandbox) -> None:
    client = oauth_client(sandbox)
    url, state = client.create_authorization_url(
        sandbox.urls["salesforce"] + "/services/oauth2/authorize", code_verifier=generate_token(48), prompt="consent"
    )
    denied = parse_qs(
        urlsplit(browse(sandbox, url, "carol@acme.example", PASSWORDS["carol@acme.example"], decision="Deny")).query
    )
    assert denied == {
        "error": ["access_denied"],
        "error_description": ["end-user denied authorization"],
        "state": [state],
    }
    authz = sandbox.urls["salesforce"] + "/services/oauth2/authorize"
    with httpx.Client(verify=_tls(sandbox)) as plain:
        unknown = plain.get(authz, params={"response_type": "code", "client_id": "nope", "redirect_uri": CALLBACK})
        assert (unknown.status_code, unknown.text) == (
            400,
            "error=invalid_client_id&error_description=client%20identifier%20invalid",
        )
        elsewhere = plain.get(
            authz,
            params={
                "response_type": "code",
                "client_id": BATON["client_id"],
                "redirect_uri": "https://evil.example/cb",
            },
        )
        assert elsewhere.status_code == 400 and elsewhere.text.startswith("error=redirect_uri_mismatch")


def test_revoke_by_delete_token_ends_the_grant(sandbox: Sandbox) -> None:
    client, token = authorize(sandbox, "alice@acme.example", oauth_client(sandbox, CALLBACK.replace("8765", "9999")))
    admin = Salesforce(
        username="bob@acme.example",
        password=PASSWORDS["bob@acme.example"],
        security_token="BOBTOKEN0000000000000001",
        session=rest_session(sandbox),
    )
    alice = org_of(sandbox.world).user_by_username("alice@acme.example")["Id"]  # type: ignore[index]
    rows = admin.query(
        f"SELECT Id, AppName, DeleteToken FROM OauthToken WHERE UserId = '{alice}' AND AppName = 'Baton'"
    )["records"]
    assert rows and all(r["Id"] is None for r in rows)  # "Reserved for future use. Currently ... always null."
    base = sandbox.urls["salesforce"]
    with httpx.Client(verify=_tls(sandbox)) as plain:  # each authorization is a row; revoke them all
        for row in rows:
            assert plain.post(base + "/services/oauth2/revoke", data={"token": row["DeleteToken"]}).status_code == 200
        again = plain.post(base + "/services/oauth2/revoke", data={"token": rows[0]["DeleteToken"]})
        assert again.status_code == 400 and again.json()["error"] == "invalid_token"
        assert plain.get(base + "/services/oauth2/revoke").json()["error"] == "unsupported_token_type"
    delete_token = rows[0]["DeleteToken"]
    assert admin.query(f"SELECT AppName FROM OauthToken WHERE DeleteToken = '{delete_token}'")["totalSize"] == 0
    assert {
        r["AppName"] for r in admin.query(f"SELECT AppName FROM OauthToken WHERE UserId = '{alice}'")["records"]
    } >= {"Jira Cloud for Salesforce", "Jotform"}  # other grants untouched
    stale = Salesforce(instance_url=base, session_id=token["access_token"], session=rest_session(sandbox))
    with pytest.raises(SalesforceExpiredSession):
        stale.query("SELECT Id FROM User")
    with pytest.raises(OAuthError) as caught:
        client.refresh_token(base + "/services/oauth2/token", refresh_token=token["refresh_token"])
    assert caught.value.error == "invalid_grant"


def test_inactive_user_refresh_fails(sandbox: Sandbox) -> None:
    client, token = authorize(sandbox, "carol@acme.example")
    org = org_of(sandbox.world)
    admin = Salesforce(
        username="bob@acme.example",
        password=PASSWORDS["bob@acme.example"],
        security_token="BOBTOKEN0000000000000001",
        session=rest_session(sandbox),
    )
    carol = org.user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    admin.User.update(carol, {"IsActive": False})
    try:
        with pytest.raises(OAuthError) as caught:
            client.refresh_token(
                sandbox.urls["salesforce"] + "/services/oauth2/token", refresh_token=token["refresh_token"]
            )
        assert (caught.value.error, caught.value.description) == ("invalid_grant", "inactive user")
        with pytest.raises(SalesforceAuthenticationFailed):
            Salesforce(username="carol@acme.example", password="x", security_token="y", session=rest_session(sandbox))
    finally:
        admin.User.update(carol, {"IsActive": True})


def test_reset_security_token_page_mails_new_token(sandbox: Sandbox) -> None:
    base = sandbox.urls["salesforce"]
    with httpx.Client(verify=_tls(sandbox), follow_redirects=True) as browser:
        page = browser.get(base + "/_ui/system/security/ResetApiTokenEdit")
        assert 'id="login_form"' in page.text
        bad = browser.post(base + "/", data={"username": "alice@acme.example", "pw": "wrong", "startURL": "/"})
        assert 'id="error"' in bad.text
        page = browser.post(
            base + "/",
            data={
                "username": "alice@acme.example",
                "pw": PASSWORDS["alice@acme.example"],
                "startURL": "/_ui/system/security/ResetApiTokenEdit",
            },
        )
        assert 'id="reset_button"' in page.text
        done = browser.post(base + "/_ui/system/security/ResetApiTokenEdit")
        assert "alice@acme.example" in done.text
    mail = sandbox.world.mails_for("alice@acme.example")[-1]
    new_token = re.search(r"Security token \(case-sensitive\): (\w+)", mail.body).group(1)  # type: ignore[union-attr]
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            username="alice@acme.example",
            password=PASSWORDS["alice@acme.example"],
            security_token="ALICETOKEN00000000000001",
            session=rest_session(sandbox),
        )
    sf = Salesforce(
        username="alice@acme.example",
        password=PASSWORDS["alice@acme.example"],
        security_token=new_token,
        session=rest_session(sandbox),
    )
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 5
