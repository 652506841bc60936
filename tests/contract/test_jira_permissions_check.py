"""Jira Cloud's bulk permission check (``POST /rest/api/3/permissions/check``) and the Atlassian invitation of a
user created through the API, in the stand-in: every answer checked against Atlassian's OpenAPI file, and Baton's
client (clients/jira.py) against it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from clients.jira import JiraClient, JiraError
from sandbox.jira.state import site
from sandbox.server import Sandbox
from tests.contract.openapi_specs import SpecMismatch, check_jira

BOB = ("bob@acme.example", "ATATT-bob-token-0001")
ALICE = ("alice@acme.example", "ATATT-alice-token-0001")
INTERCOM_APP = "5c1d2e3f4a5b6c7d8e9f0a1b"  # in jira-software-users only
PATH = "/rest/api/3/permissions/check"


@pytest.fixture
def jira(sandbox: Sandbox) -> httpx.Client:
    with httpx.Client(base_url=sandbox.urls["jira"], auth=BOB, timeout=10) as client:
        yield client


def checked(resp: httpx.Response, status: int) -> httpx.Response:
    assert resp.status_code == status, resp.text
    check_jira(resp)
    return resp


def test_project_permissions_by_account_id(jira: httpx.Client) -> None:
    wanted = [{"permissions": ["CREATE_ISSUES", "BROWSE_PROJECTS"], "projects": [10000, 10001]}]
    body = {"accountId": INTERCOM_APP, "globalPermissions": ["ADMINISTER", "USER_PICKER"], "projectPermissions": wanted}
    found = checked(jira.post(PATH, json=body), 200).json()
    assert found["globalPermissions"] == ["USER_PICKER"]  # not an administrator
    by = {p["permission"]: p for p in found["projectPermissions"]}
    assert by["CREATE_ISSUES"]["projects"] == [10000]  # ENG grants it to jira-administrators only
    assert by["BROWSE_PROJECTS"]["projects"] == [10000, 10001] and by["BROWSE_PROJECTS"]["issues"] == []


def test_errors_are_error_collections(sandbox: Sandbox, jira: httpx.Client) -> None:
    bad = checked(jira.post(PATH, json={"accountId": INTERCOM_APP, "projectPermissions": [
        {"permissions": ["FLY"], "projects": [10000]}]}), 400).json()  # fmt: skip
    assert bad["errors"] == {"FLY": "Unrecognized permission"}
    assert "accountId" in checked(jira.post(PATH, json={"accountId": "nobody"}), 400).json()["errors"]
    assert checked(jira.post(PATH, json={"projectPermissions": [{"projects": [10000]}]}), 400).json()["errorMessages"]
    with httpx.Client(base_url=sandbox.urls["jira"], auth=ALICE, timeout=10) as alice:
        other = checked(alice.post(PATH, json={"accountId": INTERCOM_APP}), 403).json()
        assert other["errorMessages"] == ["Only Jira administrators can perform this operation."]
        own = checked(alice.post(PATH, json={"projectPermissions": [{"permissions": ["EDIT_ISSUES"]}]}), 200).json()
        assert own["projectPermissions"][0]["projects"] == [10000]  # no projects given: every project


def test_the_checker_is_not_a_rubber_stamp(jira: httpx.Client) -> None:
    resp = jira.post(PATH, json={"accountId": INTERCOM_APP, "projectPermissions": [{"permissions": ["ADD_COMMENTS"]}]})
    forged = httpx.Response(200, json={"globalPermissions": [], "projectPermissions": [{"permission": "ADD_COMMENTS",
                            "projects": ["10000"], "issues": []}]}, request=resp.request)  # fmt: skip
    with pytest.raises(SpecMismatch):
        check_jira(forged)


def test_baton_client_and_the_invitation(sandbox: Sandbox) -> None:
    email = f"invited.{uuid.uuid4().hex[:6]}@acme.example"
    with JiraClient(sandbox.urls["jira"], *BOB) as client:
        assert client.find_user(email) is None
        made = client.create_user(email, "Intercom app", ["jira-software"])
        assert client.find_user(email) == made
        assert client.groups(made.account_id) == ["jira-software-users"]
        granted = client.permitted_projects(made.account_id, ["CREATE_ISSUES", "ADD_COMMENTS"], [10000, 10001])
        assert granted == {"CREATE_ISSUES": [10000], "ADD_COMMENTS": [10000]}
        with pytest.raises(JiraError, match="HTTP 400: Cannot add user"):
            client.add_to_group(made.account_id, "jira-software-users")
    mails = sandbox.world.mails_for(email)
    assert len(mails) == 1 and mails[0].subject == "Bob Admin invited you to Jira"
    link = mails[0].links[0]
    with httpx.Client(timeout=10) as browser:
        assert "Join acme.atlassian.net" in browser.get(link).text
        assert browser.post(link, data={"password": "short"}).status_code == 400
        done = browser.post(link, data={"display_name": "Intercom app", "password": "long-enough-pw"})
        assert done.status_code == 200 and email in done.text
        assert re.search(r"cloud\.session\.token", done.headers.get("set-cookie", ""))
        assert browser.get(link).status_code == 404  # used once
    user = site(sandbox.world).user_by_email(email)
    assert user is not None and user.password == "long-enough-pw"
