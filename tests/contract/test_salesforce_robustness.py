"""Salesforce stand-in: odd and hostile requests get the vendor's error shapes — never a traceback, never a
500 (SOAP faults excepted: Salesforce sends those as HTTP 500, as SOAP 1.1 says) — and scenario mistakes
get errors that name the key."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from sandbox.salesforce import seed
from sandbox.scenario import ScenarioError
from sandbox.server import Sandbox
from sandbox.world import World

BOB_SOAP = "bob-sf-Passw0rdBOBTOKEN0000000000000001"


@pytest.fixture(scope="module")
def token(sandbox: Sandbox) -> str:
    with httpx.Client(verify=ssl.create_default_context(cafile=sandbox.ca_file)) as client:
        reply = client.post(
            sandbox.urls["salesforce"] + "/services/oauth2/token",
            data={
                "grant_type": "password",
                "username": "bob@acme.example",
                "password": BOB_SOAP,
                "client_id": "baton-salesforce-client-0001",
                "client_secret": "baton-salesforce-secret-0001",
            },
        )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/services/data/v59.0/sobjects/User/", {"content": b"not json"}),
    ("POST", "/services/data/v59.0/sobjects/User/", {"json": ["a", "list"]}),
    ("POST", "/services/data/v59.0/sobjects/User/", {"json": {"LastName": 5, "IsActive": "yes"}}),
    ("PATCH", "/services/data/v59.0/sobjects/User/005000000000000AAA", {"json": {"Title": "x"}}),
    ("PATCH", "/services/data/v59.0/sobjects/User/garbage", {"json": {"Title": "x"}}),
    ("DELETE", "/services/data/v59.0/sobjects/User/005000000000000AAA", {}),
    ("GET", "/services/data/v59.0/sobjects/User/005000000000000AAA/password", {}),
    ("POST", "/services/data/v59.0/sobjects/Organization/", {"json": {"Name": "x"}}),
    ("GET", "/services/data/v59.0/sobjects/User/describe/extra", {}),
    ("GET", "/services/data/v59.0/query", {}),
    ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT Id FROM User WHERE Id = '\\"}}),
    ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT Id FROM User WHERE Username LIKE 5"}}),
    ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT Id FROM User LIMIT -1"}}),
    ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT Id FROM User ORDER BY"}}),
    ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT Id FROM User WHERE Name > 5 AND (Alias = 'x'"}}),
    ("GET", "/services/data/v59.0/query", {"params": {"q": "SELECT ÿ FROM User"}}),
    ("GET", "/services/data/v59.0/query/not-a-locator", {}),
    ("PUT", "/services/data/v59.0/query", {}),
    ("GET", "/services/data/vXX.0/limits", {}),
    ("GET", "/services/oauth2/authorize", {}),
    ("POST", "/services/oauth2/token", {"json": {"grant_type": "authorization_code", "code": "x"}}),
    ("POST", "/services/oauth2/token", {"data": {"grant_type": "authorization_code"}}),
    ("GET", "/services/oauth2/userinfo", {"headers": {"Authorization": "Bearer nope"}}),
    ("GET", "/id/00D/005", {}),
    ("GET", "/verify", {}),
    ("POST", "/", {"data": {"username": "x", "pw": "y", "startURL": "https://evil.example/"}}),
    ("GET", "/services/nothing/here", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_never_a_traceback(sandbox: Sandbox, token: str, method: str, path: str, kwargs: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    with httpx.Client(verify=ssl.create_default_context(cafile=sandbox.ca_file)) as client:
        reply = client.request(method, sandbox.urls["salesforce"] + path, headers=headers, **kwargs)
    assert 200 <= reply.status_code < 500, (reply.status_code, reply.text)
    assert "Traceback" not in reply.text
    if path.startswith("/services/data") and reply.status_code >= 400:
        body = reply.json()
        assert isinstance(body, list) and {"message", "errorCode"} <= set(body[0])
        assert reply.headers["Sforce-Limit-Info"].startswith("api-usage=")
    if path == "/" and reply.status_code in (302, 303):
        assert reply.headers["location"].startswith("/")  # no open redirect off the login page


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"users": [{"username": "a@x.example", "last_name": "A", "profile": "Nope"}]}, "salesforce.users[0].profile"),
        ({"users": [{"username": "a@x.example", "profile": "System Administrator"}]}, "salesforce.users[0]"),
        ({"profiles": [{"name": "P", "license": "Gold"}]}, "salesforce.profiles[0].license"),
        ({"connected_apps": [{"name": "A", "client_id": "c"}]}, "salesforce.connected_apps[0]"),
        ({"oauth_tokens": [{"app": "Nope", "user": "nobody@x.example"}]}, "salesforce.oauth_tokens[0]"),
        ({"query_batch_size": 0}, "salesforce.query_batch_size"),
        ({"org": {"id": "001bad"}}, "salesforce.org.id"),
        ({"colour": "blue"}, "salesforce: unknown key"),
        ({"user_licenses": {"name": "x"}}, "salesforce.user_licenses"),
    ],
)
def test_scenario_errors_name_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        seed(World(urls={"salesforce": "https://127.0.0.1:1"}), {"salesforce": section})
    assert key in str(caught.value)
