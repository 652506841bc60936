"""Salesforce stand-in: REST through simple-salesforce — query paging, CRUD, describe, passwords, and the
vendor's error shapes for bad requests (never a traceback, never a 500)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import (
    Salesforce,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.faults import FaultRule
from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.scenario import load_scenario
from sandbox.server import Sandbox

BOB = {"username": "bob@acme.example", "password": "bob-sf-Passw0rd", "security_token": "BOBTOKEN0000000000000001"}
USER_DEFAULTS = {
    "TimeZoneSidKey": "Europe/Paris",
    "LocaleSidKey": "en_US",
    "EmailEncodingKey": "UTF-8",
    "LanguageLocaleKey": "en_US",
}
_OPEN: list[requests.Session] = []


def _http(sb: Sandbox) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    # No keep-alive: an open TLS connection holds up the sandbox's shutdown by 10 s.
    session.headers["Connection"] = "close"
    _OPEN.append(session)
    return session


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this module's own: these tests create users (licences are finite) and end sessions."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture(autouse=True)
def _close_sessions() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def login(sb: Sandbox) -> Salesforce:
    return Salesforce(session=_http(sb), **BOB)


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    return login(sandbox)


def profile_id(sf: Salesforce, name: str) -> str:
    return str(sf.query(f"SELECT Id FROM Profile WHERE Name = '{name}'")["records"][0]["Id"])


def new_user(sf: Salesforce, username: str, profile: str = "Standard User", **extra: Any) -> str:
    body = {
        "Username": username,
        "Email": username,
        "LastName": "Test",
        "Alias": "test",
        "ProfileId": profile_id(sf, profile),
        **USER_DEFAULTS,
        **extra,
    }
    result = sf.User.create(body)
    assert result["success"] is True and result["errors"] == []
    return str(result["id"])


def error_of(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    content = exc.value.content
    assert isinstance(content, list) and len(content) == 1, content
    assert set(content[0]) <= {"message", "errorCode", "fields"}
    return dict(content[0])


# -- query -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_batches() -> Iterator[Sandbox]:
    scenario = copy.deepcopy(load_scenario())
    scenario["salesforce"]["query_batch_size"] = 2
    with Sandbox(scenario) as sb:
        yield sb


def test_query_all_pages_through_batches(small_batches: Sandbox) -> None:
    sf = login(small_batches)
    users = len(load_scenario()["salesforce"]["users"])
    first = sf.query("SELECT Id, Username FROM User ORDER BY Username")
    assert first["done"] is False and len(first["records"]) == 2 and first["totalSize"] == users
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2")
    everything = sf.query_all("SELECT Id, Username FROM User ORDER BY Username")
    names = [r["Username"] for r in everything["records"]]
    assert names == sorted(names) and len(names) == users and everything["done"] is True
    assert names[0] == "alice@acme.example"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01gHnBOGUS00000IAW-2")
    assert error_of(caught)["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_soql_where_subset(sf: Salesforce) -> None:
    rows = sf.query(
        "SELECT Username FROM User WHERE (Username LIKE 'a%' OR Username IN ('carol@acme.example')) "
        "AND IsActive = true AND UserRoleId != null ORDER BY Username DESC LIMIT 5"
    )["records"]
    assert [r["Username"] for r in rows] == ["carol@acme.example", "alice@acme.example"]
    inactive = sf.query("SELECT Username FROM User WHERE NOT IsActive = true")["records"]
    assert [r["Username"] for r in inactive] == ["fred@acme.example"]
    api_only = sf.query("SELECT Name, UserLicense.Name FROM Profile WHERE PermissionsApiUserOnly = true")["records"]
    assert api_only[0]["Name"] == "Minimum Access - API Only Integrations"
    assert api_only[0]["UserLicense"]["Name"] == "Salesforce Integration"
    lic = sf.query("SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'")["records"][0]
    assert lic["TotalLicenses"] == 9 and lic["UsedLicenses"] >= 5
    assert sf.query("SELECT COUNT() FROM User WHERE IsActive = false")["totalSize"] == 1


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM User", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Id FROM User WHERE", "MALFORMED_QUERY"),
        ("SELECT Id, FROM User", "MALFORMED_QUERY"),
        ("SELECT Id FROM User GROUP BY Id", "MALFORMED_QUERY"),
        ("DELETE FROM User", "MALFORMED_QUERY"),
        ("SELECT Id FROM User WHERE Username = 'x", "MALFORMED_QUERY"),
        ("SELECT Id FROM User WHERE IsActive = 'true'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Nope.Name FROM User", "INVALID_FIELD"),
    ],
)
def test_bad_soql_gets_vendor_error(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    assert error_of(caught)["errorCode"] == code


# -- sobjects ------------------------------------------------------------------------------------
def test_create_update_get_delete(sf: Salesforce) -> None:
    role = sf.UserRole.create({"Name": "Temp Role Crud"})
    assert sf.UserRole.get(role["id"])["Name"] == "Temp Role Crud"
    assert sf.UserRole.update(role["id"], {"Name": "Temp Role Renamed"}) == 204
    assert sf.UserRole.get(role["id"])["Name"] == "Temp Role Renamed"
    assert sf.UserRole.delete(role["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.UserRole.get(role["id"])
    assert error_of(caught)["errorCode"] == "NOT_FOUND"


def test_create_user_sends_verification_mail(sandbox: Sandbox, sf: Salesforce) -> None:
    user_id = new_user(sf, "verify.me@acme.example", FirstName="Vera")
    user = sf.User.get(user_id)
    assert user["Name"] == "Vera Test" and user["IsActive"] is True and user["Id"].startswith("005")
    assert len(user["Id"]) == 18
    mails = sandbox.world.mails_for("verify.me@acme.example")
    assert len(mails) == 1 and mails[0].links
    org = org_of(sandbox.world)
    assert org.email_verified(user_id) is False
    page = _http(sandbox).get(mails[0].links[0])
    assert page.status_code == 200 and "verified" in page.text
    assert org.email_verified(user_id) is True
    assert _http(sandbox).get(mails[0].links[0] + "x").status_code == 400


def test_create_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.User.create({"Username": "x@acme.example", "Bogus__c": 1})
    assert error_of(caught)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.User.create({"Username": "x@acme.example", "LastName": "X"})
    err = error_of(caught)
    assert err["errorCode"] == "REQUIRED_FIELD_MISSING" and "Alias" in err["fields"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        new_user(sf, "ALICE@acme.example")
    assert error_of(caught) == {**error_of(caught), "errorCode": "DUPLICATE_USERNAME", "fields": ["Username"]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        new_user(sf, "taken@other-org.example")
    assert error_of(caught)["errorCode"] == "DUPLICATE_USERNAME"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.User.create({"Username": "y@acme.example", "ProfileId": "not-an-id"})
    assert error_of(caught)["errorCode"] == "MALFORMED_ID"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.User.update(new_user(sf, "readonly.field@acme.example"), {"Name": "Nope"})
    assert error_of(caught)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Widget.create({"Name": "x"})
    assert error_of(caught)["errorCode"] == "NOT_FOUND"


def test_describe(sf: Salesforce) -> None:
    desc = sf.User.describe()
    fields = {f["name"]: f for f in desc["fields"]}
    assert desc["name"] == "User" and desc["keyPrefix"] == "005"
    assert fields["ProfileId"]["referenceTo"] == ["Profile"] and fields["Username"]["unique"] is True
    assert fields["Name"]["createable"] is False
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"User", "Profile", "PermissionSet", "OauthToken", "UserLogin", "LoginHistory"} <= names


def test_password_resource(sandbox: Sandbox, sf: Salesforce) -> None:
    user_id = new_user(sf, "pw.user@acme.example")
    assert sf.set_password(user_id, "n3wPassword") is None
    status = sf.restful(f"sobjects/User/{user_id}/password")
    assert status == {"isExpired": False}
    for weak in ("short1", "lettersonly", "1234567890"):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.set_password(user_id, weak)
        assert error_of(caught)["errorCode"] == "INVALID_NEW_PASSWORD"
    reset = sf.restful(f"sobjects/User/{user_id}/password", method="DELETE")
    assert len(reset["NewPassword"]) >= 8
    assert sf.restful(f"sobjects/User/{user_id}/password") == {"isExpired": True}
    token = org_of(sandbox.world).credentials[user_id].security_token
    # The new user can log in with the generated password and their token.
    Salesforce(
        username="pw.user@acme.example", password=reset["NewPassword"], security_token=token, session=_http(sandbox)
    )


def test_freezing_a_user_blocks_login(sandbox: Sandbox, sf: Salesforce) -> None:
    user_id = new_user(sf, "frozen@acme.example")
    sf.set_password(user_id, "fr0zenPassword")
    token = org_of(sandbox.world).credentials[user_id].security_token
    Salesforce(username="frozen@acme.example", password="fr0zenPassword", security_token=token, session=_http(sandbox))
    login_row = sf.query(f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '{user_id}'")["records"][0]
    assert login_row["IsFrozen"] is False
    sf.UserLogin.update(login_row["Id"], {"IsFrozen": True})
    from simple_salesforce import SalesforceAuthenticationFailed

    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username="frozen@acme.example", password="fr0zenPassword", security_token=token, session=_http(sandbox)
        )
    assert caught.value.code == "INVALID_LOGIN"


# -- auth, limits and faults -------------------------------------------------------------------
def test_missing_or_wrong_auth_is_invalid_session(sandbox: Sandbox) -> None:
    url = sandbox.urls["salesforce"] + "/services/data/v59.0/query/?q=SELECT+Id+FROM+User"
    for headers in ({}, {"Authorization": "Bearer 00Dnot!valid"}, {"Authorization": "Basic Ym9iOng="}):
        reply = _http(sandbox).get(url, headers=headers)
        assert reply.status_code == 401
        assert reply.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        assert reply.headers["Sforce-Limit-Info"].startswith("api-usage=")
    direct = Salesforce(instance_url=sandbox.urls["salesforce"], session_id="00Dbogus!token", session=_http(sandbox))
    with pytest.raises(SalesforceExpiredSession) as caught:
        direct.query("SELECT Id FROM User")
    assert error_of(caught)["errorCode"] == "INVALID_SESSION_ID"


def test_unknown_paths_and_versions(sandbox: Sandbox, sf: Salesforce) -> None:
    for path in ("/services/data/v59.0/nothing", "/services/data/v9.0/query?q=SELECT+Id+FROM+User", "/nope"):
        reply = _http(sandbox).get(
            sandbox.urls["salesforce"] + path, headers={"Authorization": f"Bearer {sf.session_id}"}
        )
        assert reply.status_code == 404 and reply.json()[0]["errorCode"] == "NOT_FOUND"
    old = sf.restful("query", params={"q": "SELECT Id FROM Organization"})
    assert old["totalSize"] == 1
    v52 = _http(sandbox).get(
        sandbox.urls["salesforce"] + "/services/data/v52.0/query",
        params={"q": "SELECT Id FROM User LIMIT 1"},
        headers={"Authorization": f"Bearer {sf.session_id}"},
    )
    assert v52.status_code == 200 and v52.json()["records"][0]["attributes"]["url"].startswith("/services/data/v52.0/")


def test_daily_limit_exceeded(fresh_sandbox: Sandbox) -> None:
    sf = login(fresh_sandbox)
    org = org_of(fresh_sandbox.world)
    sf.query("SELECT Id FROM User LIMIT 1")
    assert sf.api_usage["api-usage"].used == org.api_used
    org.api_limit = org.api_used + 1
    sf.query("SELECT Id FROM User LIMIT 1")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User LIMIT 1")
    assert error_of(caught) == {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}


def test_fault_rule_limit(sandbox: Sandbox, sf: Salesforce) -> None:
    sandbox.world.faults.add(
        FaultRule.from_dict({"host": "salesforce", "route": "/query", "kind": "limit", "count": 1})
    )
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User")
    assert error_of(caught)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf.query("SELECT Id FROM User")["totalSize"] >= 5  # the rule fired once only
