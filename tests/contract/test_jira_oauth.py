"""Jira Cloud 3LO with authlib (auth code + PKCE, refresh-token rotation); login and consent driven by httpx."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from sandbox.server import Sandbox
from tests.contract.openapi_specs import check_jira

CLIENT_ID, CLIENT_SECRET = "baton-jira-client-0001", "baton-jira-secret-0001"
REDIRECT = "http://127.0.0.1:8765/oauth/jira/callback"  # any loopback port is allowed for Baton's app
CLOUD_ID = "7d3c1f0e-2b9a-4c8e-9f61-ac0e00000001"
SCOPE = "read:jira-user read:jira-work manage:jira-configuration offline_access"


def consent(base: str, authorize_url: str, email: str, password: str, decision: str = "accept") -> str:
    """Play the person in the browser: log in, then Accept (or Deny). Returns the redirect to the app."""
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        resp = browser.get(authorize_url)
        assert resp.status_code == 302 and resp.headers["location"].startswith("/login?"), resp.text
        login = browser.get(resp.headers["location"])
        target = re.search(r'name="continue" value="([^"]+)"', login.text)
        assert target, login.text
        resp = browser.post(
            "/login", data={"username": email, "password": password, "continue": target.group(1).replace("&amp;", "&")}
        )
        assert resp.status_code == 303, resp.text
        page = browser.get(urljoin(base, resp.headers["location"]))
        assert page.status_code == 200 and "Accept" in page.text, page.text
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id
        resp = browser.post("/authorize/consent", data={"request_id": request_id.group(1), "decision": decision})
        assert resp.status_code == 302
        return resp.headers["location"]


@pytest.fixture
def client(sandbox: Sandbox) -> OAuth2Client:
    with OAuth2Client(
        CLIENT_ID, CLIENT_SECRET, scope=SCOPE, redirect_uri=REDIRECT, code_challenge_method="S256"
    ) as oauth:
        yield oauth


def authorize(sandbox: Sandbox, client: OAuth2Client, email: str, password: str) -> dict[str, object]:
    base = sandbox.urls["jira"]
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        base + "/authorize", code_verifier=verifier, audience="api.atlassian.com", prompt="consent"
    )
    callback = consent(base, url, email, password)
    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    token: dict[str, object] = client.fetch_token(
        base + "/oauth/token", authorization_response=callback, code_verifier=verifier
    )
    return token


def test_auth_code_pkce_then_rest_as_the_consenting_user(sandbox: Sandbox, client: OAuth2Client) -> None:
    base = sandbox.urls["jira"]
    token = authorize(sandbox, client, "bob@acme.example", "bob-jira-pw")
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    resources = client.get(base + "/oauth/token/accessible-resources")
    assert resources.status_code == 200
    assert resources.json()[0]["id"] == CLOUD_ID and resources.json()[0]["url"] == base
    me = client.get(f"{base}/ex/jira/{CLOUD_ID}/rest/api/3/myself")
    assert me.status_code == 200 and me.json()["emailAddress"] == "bob@acme.example"
    check_jira(me)
    groups = client.get(
        f"{base}/ex/jira/{CLOUD_ID}/rest/api/3/user/groups", params={"accountId": "5b10a2844c20165700ede21g"}
    )
    check_jira(groups)
    assert {g["name"] for g in groups.json()} == {"jira-software-users"}
    wrong_site = client.get(f"{base}/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/myself")
    assert wrong_site.status_code == 404
    check_jira(wrong_site)
    assert sandbox.world.vendors["jira"].app_user("Baton").email == "bob@acme.example"


def test_refresh_token_rotation(sandbox: Sandbox, client: OAuth2Client) -> None:
    base = sandbox.urls["jira"]
    first = authorize(sandbox, client, "alice@acme.example", "alice-jira-pw")
    second = client.refresh_token(base + "/oauth/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert client.get(f"{base}/ex/jira/{CLOUD_ID}/rest/api/3/myself").json()["accountId"] == (
        "5b10a2844c20165700ede21g"
    )
    with pytest.raises(OAuthError) as err:  # the old refresh token stopped working
        client.refresh_token(base + "/oauth/token", refresh_token=first["refresh_token"])
    assert err.value.error == "invalid_grant"
    # the JSON body Atlassian documents works too, with client credentials in the body
    resp = httpx.post(
        base + "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": second["refresh_token"],
        },
    )
    assert resp.status_code == 200 and resp.json()["refresh_token"] != second["refresh_token"]


def test_wrong_pkce_verifier_and_code_reuse(sandbox: Sandbox, client: OAuth2Client) -> None:
    base = sandbox.urls["jira"]
    url, _ = client.create_authorization_url(base + "/authorize", code_verifier=generate_token(48))
    callback = consent(base, url, "bob@acme.example", "bob-jira-pw")
    with pytest.raises(OAuthError) as err:
        client.fetch_token(base + "/oauth/token", authorization_response=callback, code_verifier=generate_token(48))
    assert err.value.error == "invalid_grant"
    with pytest.raises(OAuthError):  # a code works once
        client.fetch_token(base + "/oauth/token", authorization_response=callback, code_verifier=generate_token(48))


def test_deny_and_bad_requests(sandbox: Sandbox, client: OAuth2Client) -> None:
    base = sandbox.urls["jira"]
    url, state = client.create_authorization_url(base + "/authorize", code_verifier=generate_token(48))
    callback = consent(base, url, "bob@acme.example", "bob-jira-pw", decision="deny")
    assert parse_qs(urlsplit(callback).query) == {
        "error": ["access_denied"],
        "error_description": ["User did not authorize"],
        "state": [state],
    }
    assert httpx.get(base + "/authorize", params={"client_id": "nope", "response_type": "code"}).status_code == 400
    bad_redirect = httpx.get(
        base + "/authorize",
        params={"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": "https://evil.example/cb"},
    )
    assert bad_redirect.status_code == 400
    bad_client = httpx.post(
        base + "/oauth/token", data={"grant_type": "authorization_code", "code": "x"}, auth=(CLIENT_ID, "wrong")
    )
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "access_denied"
    assert httpx.get(base + "/oauth/token/accessible-resources").status_code == 401
    no_token = httpx.get(f"{base}/ex/jira/{CLOUD_ID}/rest/api/3/myself")
    assert no_token.status_code == 401
    check_jira(no_token)


def test_wrong_password_shows_the_login_page_again(sandbox: Sandbox) -> None:
    resp = httpx.post(
        sandbox.urls["jira"] + "/login", data={"username": "bob@acme.example", "password": "nope", "continue": "/"}
    )
    assert resp.status_code == 401 and "Incorrect email address" in resp.text
