"""Intercom stand-in: /me and OAuth against Intercom's OpenAPI file; the Jira app's user change end to end."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.faults import FaultRule
from sandbox.intercom.state import app_user, workspace
from sandbox.server import Sandbox
from tests.contract.openapi_specs import SpecMismatch, check_intercom

BOB_TOKEN = "dG9rOmJvYi1iYXRvbi10b2tlbi0wMDAx"
CLIENT_ID, CLIENT_SECRET = "baton-intercom-client-0001", "baton-intercom-secret-0001"
HEADERS = {"Intercom-Version": "2.16", "Accept": "application/json"}


def me(base: str, token: str | None) -> httpx.Response:
    headers = HEADERS | ({"Authorization": f"Bearer {token}"} if token else {})
    resp = httpx.get(base + "/me", headers=headers)
    check_intercom(resp)
    return resp


def test_me_is_admin_with_app(sandbox: Sandbox) -> None:
    body = me(sandbox.urls["intercom"], BOB_TOKEN).json()
    assert body["type"] == "admin" and body["email"] == "bob@acme.example"
    assert body["app"]["name"] == "Acme Support" and body["app"]["id_code"] == "acmesupport1"


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_me_unauthorized(sandbox: Sandbox, token: str | None) -> None:
    resp = me(sandbox.urls["intercom"], token)
    assert resp.status_code == 401 and resp.json()["errors"][0]["code"] == "unauthorized"


def test_bad_version_and_unknown_path(sandbox: Sandbox) -> None:
    resp = httpx.get(
        sandbox.urls["intercom"] + "/me", headers={"Intercom-Version": "banana", "Authorization": f"Bearer {BOB_TOKEN}"}
    )
    assert resp.status_code == 400
    check_intercom(resp)
    missing = httpx.get(sandbox.urls["intercom"] + "/no/such/path")
    assert missing.status_code == 404
    check_intercom(missing)


def test_validator_catches_a_bad_shape(sandbox: Sandbox) -> None:
    good = me(sandbox.urls["intercom"], BOB_TOKEN)
    for body in (
        good.json() | {"has_inbox_seat": "yes"},
        {k: v for k, v in good.json().items() if k != "email"},
        good.json() | {"app": {"type": "app", "id_code": 12}},
    ):
        with pytest.raises(SpecMismatch):
            check_intercom(httpx.Response(200, json=body, request=good.request))
    with pytest.raises(SpecMismatch):
        check_intercom(httpx.Response(401, json={"error": "unauthorized"}, request=good.request))


def test_oauth_with_authlib(sandbox: Sandbox) -> None:
    base = sandbox.urls["intercom"]
    redirect = "http://127.0.0.1:9999/oauth/intercom/callback"
    with OAuth2Client(
        CLIENT_ID, CLIENT_SECRET, redirect_uri=redirect, token_endpoint_auth_method="client_secret_post"
    ) as client:
        url, state = client.create_authorization_url(base + "/oauth")
        with httpx.Client(base_url=base) as browser:
            first = browser.get(url)
            assert first.status_code == 302 and first.headers["location"].startswith("/admins/sign_in")
            target = parse_qs(urlsplit(first.headers["location"]).query)["continue"][0]
            signed = browser.post(
                "/admins/sign_in", data={"email": "bob@acme.example", "password": "bob-intercom-pw", "continue": target}
            )
            assert signed.status_code == 303
            consent = browser.get(urljoin(base, signed.headers["location"]))
            assert "Authorize access" in consent.text
            rid = re.search(r'name="request_id" value="([^"]+)"', consent.text)
            assert rid
            back = browser.post("/oauth/authorize", data={"request_id": rid.group(1), "decision": "allow"})
        callback = back.headers["location"]
        assert parse_qs(urlsplit(callback).query)["state"] == [state]
        token = client.fetch_token(base + "/auth/eagle/token", authorization_response=callback)
        assert token["token_type"] == "Bearer" and token["token"] == token["access_token"]
    assert me(base, str(token["access_token"])).json()["id"] == "7001002"
    reused = httpx.post(
        base + "/auth/eagle/token",
        data={
            "code": parse_qs(urlsplit(callback).query)["code"][0],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert reused.status_code == 400
    check_intercom(reused)
    bad_secret = httpx.post(
        base + "/auth/eagle/token", data={"code": "x", "client_id": CLIENT_ID, "client_secret": "wrong"}
    )
    assert bad_secret.status_code == 401
    check_intercom(bad_secret)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=60),
        st.dictionaries(st.sampled_from(["code", "client_id", "client_secret", "x"]), st.text(max_size=10)).map(
            lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()
        ),
    )
)
def test_malformed_token_requests(sandbox: Sandbox, body: bytes) -> None:
    for ctype in ("application/json", "application/x-www-form-urlencoded"):
        resp = httpx.post(sandbox.urls["intercom"] + "/auth/eagle/token", content=body, headers={"content-type": ctype})
        assert resp.status_code in (400, 401), resp.text
        check_intercom(resp)


def test_ratelimit_fault(sandbox: Sandbox) -> None:
    sandbox.world.faults.add(
        FaultRule.from_dict({"host": "intercom", "route": "^/me$", "kind": "ratelimit", "count": 1, "retry_after": 2})
    )
    resp = me(sandbox.urls["intercom"], BOB_TOKEN)
    assert resp.status_code == 429 and resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.json()["errors"][0]["code"] == "rate_limit_exceeded"
    assert me(sandbox.urls["intercom"], BOB_TOKEN).status_code == 200


def _login_jira(browser: httpx.Client, jira: str, location: str, email: str, password: str) -> httpx.Response:
    """Follow Jira's login page then show its consent page."""
    resp = browser.get(location)
    assert resp.status_code == 302, resp.text
    target = parse_qs(urlsplit(resp.headers["location"]).query)["continue"][0]
    resp = browser.post(jira + "/login", data={"username": email, "password": password, "continue": target})
    assert resp.status_code == 303
    return browser.get(jira + resp.headers["location"])


def test_change_the_app_user(fresh_sandbox: Sandbox) -> None:
    """Guide: log out of Jira, uninstall the app, reinstall and authorize as the new Jira user."""
    world, base, jira = fresh_sandbox.world, fresh_sandbox.urls["intercom"], fresh_sandbox.urls["jira"]
    assert app_user(world) == {
        "account_id": "5b10a2844c20165700ede21g",
        "email": "alice@acme.example",
        "name": "Alice Leaver",
    }
    old_app_token = workspace(world).jira_app.intercom_token  # type: ignore[union-attr]
    assert me(base, old_app_token).status_code == 200
    app_page = "/a/apps/acmesupport1/appstore/jira"
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        signed = browser.post(
            base + "/admins/sign_in",
            data={"email": "bob@acme.example", "password": "bob-intercom-pw", "continue": app_page},
        )
        info = browser.get(base + signed.headers["location"])
        assert "Alice Leaver (alice@acme.example)" in info.text
        browser.post(base + app_page + "/uninstall")
        assert app_user(world) is None and me(base, old_app_token).status_code == 401
        to_jira = browser.post(base + app_page + "/install")
        consent = _login_jira(
            browser, jira, to_jira.headers["location"], "intercom-app@acme.example", "intercom-app-jira-pw"
        )
        assert "Jira Cloud for Intercom is requesting access" in consent.text
        rid = re.search(r'name="request_id" value="([^"]+)"', consent.text)
        assert rid
        back = browser.post(jira + "/authorize/consent", data={"request_id": rid.group(1), "decision": "accept"})
        done = browser.get(back.headers["location"])
        assert done.status_code == 303, done.text
        info = browser.get(base + app_page)
        assert 'id="app-user">Intercom app (intercom-app@acme.example)' in info.text
    assert app_user(world) == {
        "account_id": "5c1d2e3f4a5b6c7d8e9f0a1b",
        "email": "intercom-app@acme.example",
        "name": "Intercom app",
    }
    assert world.vendors["jira"].app_user("Jira Cloud for Intercom").email == "intercom-app@acme.example"
