"""Jira Server/DC stand-in: REST v2 with Basic or PAT, group membership, PATs, ErrorCollection errors."""

from __future__ import annotations

import httpx
import pytest

from sandbox.server import Sandbox

BOB_PAT = {"Authorization": "Bearer NjEbobPAT0001"}


def error_collection(resp: httpx.Response, status: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"errorMessages", "errors"} and isinstance(body["errorMessages"], list)


@pytest.mark.parametrize("auth", [{"auth": ("bob", "bob-jira-dc-pw")}, {"headers": BOB_PAT}])
def test_myself_basic_or_pat(sandbox: Sandbox, auth: dict[str, object]) -> None:
    resp = httpx.get(sandbox.urls["jira_server"] + "/rest/api/2/myself", **auth)  # type: ignore[arg-type]
    assert resp.status_code == 200 and resp.json()["name"] == "bob" and resp.json()["key"] == "JIRAUSER10101"


@pytest.mark.parametrize("auth", [{}, {"auth": ("bob", "nope")}, {"headers": {"Authorization": "Bearer nope"}}])
def test_bad_auth(sandbox: Sandbox, auth: dict[str, object]) -> None:
    error_collection(httpx.get(sandbox.urls["jira_server"] + "/rest/api/2/myself", **auth), 401)  # type: ignore[arg-type]


def test_user_groups_and_pats(fresh_sandbox: Sandbox) -> None:
    with httpx.Client(base_url=fresh_sandbox.urls["jira_server"], headers=BOB_PAT) as jira:
        alice = jira.get("/rest/api/2/user", params={"username": "alice", "expand": "groups"}).json()
        assert [g["name"] for g in alice["groups"]["items"]] == ["jira-software-users"]
        error_collection(jira.get("/rest/api/2/user", params={"username": "nobody"}), 404)
        error_collection(jira.get("/rest/api/2/user"), 400)
        assert (
            jira.post(
                "/rest/api/2/group/user", params={"groupname": "jira-administrators"}, json={"name": "alice"}
            ).status_code
            == 201
        )
        error_collection(
            jira.post("/rest/api/2/group/user", params={"groupname": "jira-administrators"}, content=b"{oops"), 400
        )
        error_collection(jira.post("/rest/api/2/group/user", params={"groupname": "no-group"}, json={"name": "x"}), 404)
        assert (
            jira.delete(
                "/rest/api/2/group/user", params={"groupname": "jira-administrators", "username": "alice"}
            ).status_code
            == 200
        )
    alice_pat = {"Authorization": "Bearer NjEalicePAT0001"}
    base = fresh_sandbox.urls["jira_server"]
    assert httpx.get(base + "/rest/pat/latest/tokens", headers=alice_pat).json() == [
        {"id": 1, "name": "salesforce-connector"}
    ]
    assert httpx.delete(base + "/rest/pat/latest/tokens/1", headers=alice_pat).status_code == 204
    error_collection(httpx.get(base + "/rest/api/2/myself", headers=alice_pat), 401)
