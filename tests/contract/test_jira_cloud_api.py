"""Jira Cloud REST v3 stand-in: every answer checked against Atlassian's OpenAPI file."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.faults import FaultRule
from sandbox.server import Sandbox
from tests.contract.openapi_specs import SpecMismatch, check_jira

BOB = ("bob@acme.example", "ATATT-bob-token-0001")
ALICE = ("alice@acme.example", "ATATT-alice-token-0001")
ALICE_ID = "5b10a2844c20165700ede21g"
BOB_ID = "5b10ac8d82e05b22cc7d4ef5"
ORG_KEY = "atl-org-key-acme-0001"


@pytest.fixture
def jira(sandbox: Sandbox) -> httpx.Client:
    with httpx.Client(base_url=sandbox.urls["jira"], auth=BOB, timeout=10) as client:
        yield client


def checked(resp: httpx.Response, status: int) -> httpx.Response:
    assert resp.status_code == status, resp.text
    check_jira(resp)
    return resp


def test_myself_basic_auth(jira: httpx.Client) -> None:
    body = checked(jira.get("/rest/api/3/myself"), 200).json()
    assert body["accountId"] == BOB_ID and body["emailAddress"] == "bob@acme.example"
    assert body["groups"]["size"] == 3


def test_myself_expand_groups(jira: httpx.Client) -> None:
    body = checked(jira.get("/rest/api/3/myself", params={"expand": "groups"}), 200).json()
    assert {g["name"] for g in body["groups"]["items"]} == {"jira-administrators", "jira-software-users", "site-admins"}


@pytest.mark.parametrize("auth", [None, ("bob@acme.example", "wrong"), ("nobody@acme.example", "x")])
def test_bad_auth_is_401_error_collection(sandbox: Sandbox, auth: tuple[str, str] | None) -> None:
    resp = httpx.get(sandbox.urls["jira"] + "/rest/api/3/myself", auth=auth)
    checked(resp, 401)
    assert resp.json()["errorMessages"]


def test_get_user_and_unknown_user(jira: httpx.Client) -> None:
    assert checked(jira.get("/rest/api/3/user", params={"accountId": ALICE_ID}), 200).json()["displayName"] == (
        "Alice Leaver"
    )
    checked(jira.get("/rest/api/3/user", params={"accountId": "no-such-account"}), 404)
    checked(jira.get("/rest/api/3/user"), 400)


def test_create_user_then_groups(jira: httpx.Client) -> None:
    email = f"svc-{uuid.uuid4().hex[:8]}@acme.example"
    user = checked(
        jira.post(
            "/rest/api/3/user",
            json={"emailAddress": email, "products": ["jira-software"], "displayName": "Intercom app 2"},
        ),
        201,
    ).json()
    account_id = user["accountId"]
    # creating it again answers with the same user (Jira: 201 when the user exists and has access)
    again = checked(jira.post("/rest/api/3/user", json={"emailAddress": email, "products": ["jira-software"]}), 201)
    assert again.json()["accountId"] == account_id
    group = checked(
        jira.post(
            "/rest/api/3/group/user", params={"groupname": "jira-administrators"}, json={"accountId": account_id}
        ),
        201,
    ).json()
    assert group["name"] == "jira-administrators"
    checked(
        jira.post(
            "/rest/api/3/group/user", params={"groupname": "jira-administrators"}, json={"accountId": account_id}
        ),
        400,
    )  # already a member
    names = {
        g["name"] for g in checked(jira.get("/rest/api/3/user/groups", params={"accountId": account_id}), 200).json()
    }
    assert names == {"jira-administrators", "jira-software-users"}
    members = checked(jira.get("/rest/api/3/group/member", params={"groupname": "jira-administrators"}), 200).json()
    assert account_id in {m["accountId"] for m in members["values"]}
    gid = group["groupId"]
    checked(jira.delete("/rest/api/3/group/user", params={"groupId": gid, "accountId": account_id}), 200)
    names = {g["name"] for g in jira.get("/rest/api/3/user/groups", params={"accountId": account_id}).json()}
    assert names == {"jira-software-users"}
    found = checked(jira.get("/rest/api/3/user/search", params={"query": email}), 200).json()
    assert [u["accountId"] for u in found] == [account_id]


def test_create_user_bad_requests(jira: httpx.Client) -> None:
    unknown = checked(
        jira.post("/rest/api/3/user", json={"emailAddress": "x@acme.example", "products": [], "colour": "red"}), 400
    )
    assert "colour" in unknown.json()["errorMessages"][0]
    assert "emailAddress" in checked(jira.post("/rest/api/3/user", json={"products": []}), 400).json()["errors"]
    checked(jira.post("/rest/api/3/user", content=b"{not json", headers={"content-type": "application/json"}), 400)


def test_non_admin_cannot_manage_users(sandbox: Sandbox) -> None:
    resp = httpx.post(
        sandbox.urls["jira"] + "/rest/api/3/group/user",
        params={"groupname": "site-admins"},
        json={"accountId": ALICE_ID},
        auth=ALICE,
    )
    checked(resp, 403)


def test_group_errors(jira: httpx.Client) -> None:
    checked(
        jira.post("/rest/api/3/group/user", params={"groupname": "no-such-group"}, json={"accountId": ALICE_ID}), 404
    )
    checked(jira.post("/rest/api/3/group/user", json={"accountId": ALICE_ID}), 400)
    checked(jira.post("/rest/api/3/group/user", params={"groupname": "site-admins"}, json={"accountId": "nobody"}), 400)
    checked(jira.delete("/rest/api/3/group/user", params={"groupname": "site-admins", "accountId": "nobody"}), 404)
    checked(jira.get("/rest/api/3/user/groups", params={"accountId": "nobody"}), 404)


def test_mypermissions(sandbox: Sandbox, jira: httpx.Client) -> None:
    perms = checked(
        jira.get("/rest/api/3/mypermissions", params={"permissions": "ADMINISTER,BROWSE_PROJECTS"}), 200
    ).json()["permissions"]
    assert perms["ADMINISTER"]["havePermission"] is True
    alice = httpx.get(
        sandbox.urls["jira"] + "/rest/api/3/mypermissions", params={"permissions": "ADMINISTER"}, auth=ALICE
    )
    assert checked(alice, 200).json()["permissions"]["ADMINISTER"]["havePermission"] is False
    checked(jira.get("/rest/api/3/mypermissions"), 400)
    checked(jira.get("/rest/api/3/mypermissions", params={"permissions": "NOT_A_PERMISSION"}), 404)


def test_user_search_needs_a_query(jira: httpx.Client) -> None:
    checked(jira.get("/rest/api/3/user/search"), 400)
    assert checked(jira.get("/rest/api/3/user/search", params={"query": "alice"}), 200).json()[0]["accountId"] == (
        ALICE_ID
    )


def test_validator_catches_a_bad_shape(jira: httpx.Client) -> None:
    """The checker is not a rubber stamp: a field the spec does not allow, or a wrong type, fails."""
    good = jira.get("/rest/api/3/myself")
    body = good.json() | {"favouriteColour": "green"}
    bad = httpx.Response(200, json=body, request=good.request)
    with pytest.raises(SpecMismatch):
        check_jira(bad)
    wrong_type = httpx.Response(200, json=good.json() | {"active": "yes"}, request=good.request)
    with pytest.raises(SpecMismatch):
        check_jira(wrong_type)
    not_error_collection = httpx.Response(404, json={"message": "nope"}, request=good.request)
    with pytest.raises(SpecMismatch):
        check_jira(not_error_collection)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=60),
        st.text(max_size=60).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
            max_leaves=6,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_malformed_bodies_get_error_collection(jira: httpx.Client, body: bytes) -> None:
    for path, params in (("/rest/api/3/user", {}), ("/rest/api/3/group/user", {"groupname": "jira-software-users"})):
        resp = jira.post(path, params=params, content=body, headers={"content-type": "application/json"})
        assert resp.status_code in (201, 400), resp.text
        check_jira(resp)


def test_ratelimit_fault(sandbox: Sandbox, jira: httpx.Client) -> None:
    sandbox.world.faults.add(
        FaultRule.from_dict(
            {"host": "jira", "route": "^/rest/api/3/myself$", "kind": "ratelimit", "count": 1, "retry_after": 3}
        )
    )
    resp = checked(jira.get("/rest/api/3/myself"), 429)
    assert resp.headers["Retry-After"] == "3" and "X-RateLimit-Limit" in resp.headers
    assert resp.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    checked(jira.get("/rest/api/3/myself"), 200)


def test_admin_api_tokens_and_disable(fresh_sandbox: Sandbox) -> None:
    base = fresh_sandbox.urls["jira"]
    key = {"Authorization": f"Bearer {ORG_KEY}"}
    tokens = httpx.get(f"{base}/users/{ALICE_ID}/manage/api-tokens", headers=key)
    assert tokens.status_code == 200 and [t["label"] for t in tokens.json()] == ["salesforce-connector", "scripts"]
    assert httpx.get(f"{base}/users/{ALICE_ID}/manage/api-tokens").status_code == 401
    assert httpx.get(f"{base}/users/nobody/manage/api-tokens", headers=key).status_code == 404
    first = tokens.json()[0]["id"]
    assert httpx.delete(f"{base}/users/{ALICE_ID}/manage/api-tokens/{first}", headers=key).status_code == 204
    # the deleted token no longer authenticates; the other one still does
    assert httpx.get(f"{base}/rest/api/3/myself", auth=ALICE).status_code == 401
    assert httpx.get(f"{base}/rest/api/3/myself", auth=(ALICE[0], "ATATT-alice-token-0002")).status_code == 200
    assert (
        httpx.post(
            f"{base}/users/{ALICE_ID}/manage/lifecycle/disable", headers=key, json={"message": "left Acme"}
        ).status_code
        == 204
    )
    assert httpx.get(f"{base}/rest/api/3/myself", auth=(ALICE[0], "ATATT-alice-token-0002")).status_code == 401
    user = httpx.get(f"{base}/rest/api/3/user", params={"accountId": ALICE_ID}, auth=BOB)
    assert checked(user, 200).json()["active"] is False
