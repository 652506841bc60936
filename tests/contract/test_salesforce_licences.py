"""Salesforce stand-in: the Jotform guide's API-only integration user — licences, the permission set
licence, permission sets — and what Salesforce answers when a licence runs out or a step is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

BOB = {"username": "bob@acme.example", "password": "bob-sf-Passw0rd", "security_token": "BOBTOKEN0000000000000001"}
USER_DEFAULTS = {
    "TimeZoneSidKey": "Europe/Paris",
    "LocaleSidKey": "en_US",
    "EmailEncodingKey": "UTF-8",
    "LanguageLocaleKey": "en_US",
}


@pytest.fixture
def sf(fresh_sandbox: Sandbox) -> Iterator[Salesforce]:
    session = salesforce_session(fresh_sandbox.urls["salesforce"], fresh_sandbox.ca_file)
    session.headers["Connection"] = "close"
    yield Salesforce(session=session, **BOB)
    session.close()


def one(sf: Salesforce, soql: str) -> dict[str, Any]:
    records = sf.query(soql)["records"]
    assert len(records) == 1, soql
    return dict(records[0])


def create_user(sf: Salesforce, username: str, profile: str) -> str:
    profile_id = one(sf, f"SELECT Id FROM Profile WHERE Name = '{profile}'")["Id"]
    return str(
        sf.User.create(
            {
                "Username": username,
                "Email": username,
                "LastName": "Integration",
                "Alias": "integ",
                "ProfileId": profile_id,
                **USER_DEFAULTS,
            }
        )["id"]
    )


def code_of(caught: pytest.ExceptionInfo[Any]) -> str:
    return str(caught.value.content[0]["errorCode"])


def test_jotform_api_only_user_setup(fresh_sandbox: Sandbox, sf: Salesforce) -> None:
    psl = one(
        sf,
        "SELECT Id, TotalLicenses, UsedLicenses FROM PermissionSetLicense "
        "WHERE MasterLabel = 'Salesforce API Integration'",
    )
    assert (psl["TotalLicenses"], psl["UsedLicenses"]) == (2, 0)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.PermissionSet.create({"Name": "Jotform API", "Label": "Jotform API", "LicenseId": psl["Id"]})
    assert code_of(caught) == "FIELD_INTEGRITY_EXCEPTION"
    ps = sf.PermissionSet.create({"Name": "Jotform_API", "Label": "Jotform API", "LicenseId": psl["Id"]})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.PermissionSet.create({"Name": "Jotform_API", "Label": "Again"})
    assert code_of(caught) == "DUPLICATE_DEVELOPER_NAME"

    user = create_user(sf, "jotform.api@acme.example", "Minimum Access - API Only Integrations")
    lic = one(sf, "SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'")
    assert lic["UsedLicenses"] == 1
    with pytest.raises(SalesforceMalformedRequest) as caught:  # the licence must come first
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    assert code_of(caught) == "FIELD_INTEGRITY_EXCEPTION"
    assert "permission set license" in caught.value.content[0]["message"]
    sf.PermissionSetLicenseAssign.create({"AssigneeId": user, "PermissionSetLicenseId": psl["Id"]})
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    assigned = one(
        sf,
        f"SELECT PermissionSet.Name, Assignee.Username FROM PermissionSetAssignment "
        f"WHERE AssigneeId = '{user}' AND PermissionSetId = '{ps}'",
    )
    assert assigned["PermissionSet"]["Name"] == "Jotform_API"
    assert one(sf, f"SELECT UsedLicenses FROM PermissionSetLicense WHERE Id = '{psl['Id']}'")["UsedLicenses"] == 1
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    assert code_of(caught) == "DUPLICATE_VALUE"

    # The permission set licence goes only with the Salesforce Integration user licence.
    carol = one(sf, "SELECT Id FROM User WHERE Username = 'carol@acme.example'")["Id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.PermissionSetLicenseAssign.create({"AssigneeId": carol, "PermissionSetLicenseId": psl["Id"]})
    assert code_of(caught) == "FIELD_INTEGRITY_EXCEPTION"
    mail = fresh_sandbox.world.mails_for("jotform.api@acme.example")
    assert mail and "Verify" in mail[0].subject
    assert org_of(fresh_sandbox.world).email_verified(user) is False


def test_no_licence_left(sf: Salesforce) -> None:
    create_user(sf, "integ1@acme.example", "Minimum Access - API Only Integrations")
    second = create_user(sf, "integ2@acme.example", "Minimum Access - API Only Integrations")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        create_user(sf, "integ3@acme.example", "Minimum Access - API Only Integrations")
    assert caught.value.status == 400
    assert caught.value.content == [
        {"message": "License Limit Exceeded", "errorCode": "LICENSE_LIMIT_EXCEEDED", "fields": []}
    ]
    # Deactivating a user frees the seat.
    sf.User.update(second, {"IsActive": False})
    create_user(sf, "integ3@acme.example", "Minimum Access - API Only Integrations")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.User.update(second, {"IsActive": True})
    assert code_of(caught) == "LICENSE_LIMIT_EXCEEDED"


def test_permission_set_licence_runs_out(sf: Salesforce) -> None:
    psl = one(sf, "SELECT Id FROM PermissionSetLicense WHERE MasterLabel = 'Salesforce API Integration'")["Id"]
    users = [create_user(sf, f"psl{i}@acme.example", "Minimum Access - API Only Integrations") for i in (1, 2)]
    for user in users:
        sf.PermissionSetLicenseAssign.create({"AssigneeId": user, "PermissionSetLicenseId": psl})
    row = one(sf, f"SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{users[0]}'")
    assert sf.PermissionSetLicenseAssign.delete(row["Id"]) == 204
    sf.PermissionSetLicenseAssign.create({"AssigneeId": users[0], "PermissionSetLicenseId": psl})
    sf.User.update(users[1], {"IsActive": False})  # frees the user licence, not the permission set licence
    third = create_user(sf, "psl3@acme.example", "Minimum Access - API Only Integrations")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.PermissionSetLicenseAssign.create({"AssigneeId": third, "PermissionSetLicenseId": psl})
    assert code_of(caught) == "LICENSE_LIMIT_EXCEEDED"


def test_profile_clone_and_role(sf: Salesforce) -> None:
    base = one(sf, "SELECT Id, UserLicenseId FROM Profile WHERE Name = 'Standard User'")
    clone = sf.Profile.create(
        {"Name": "Integration API", "UserLicenseId": base["UserLicenseId"], "PermissionsApiEnabled": True}
    )["id"]
    copy = one(sf, f"SELECT Name, UserLicense.Name, PermissionsApiEnabled FROM Profile WHERE Id = '{clone}'")
    assert copy["UserLicense"]["Name"] == "Salesforce" and copy["PermissionsApiEnabled"] is True
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Profile.create({"Name": "Integration API", "UserLicenseId": base["UserLicenseId"]})
    assert code_of(caught) == "DUPLICATE_VALUE"
    role = sf.UserRole.create({"Name": "Integration Users"})["id"]
    user = create_user(sf, "integration.user@acme.example", "Integration API")
    sf.User.update(user, {"UserRoleId": role})
    got = one(sf, f"SELECT UserRole.Name, Profile.Name FROM User WHERE Id = '{user}'")
    assert (got["UserRole"]["Name"], got["Profile"]["Name"]) == ("Integration Users", "Integration API")
    with pytest.raises(SalesforceMalformedRequest) as caught:  # an admin cannot move a user out of Integration
        integ = create_user(sf, "stuck@acme.example", "Minimum Access - API Only Integrations")
        sf.User.update(integ, {"ProfileId": base["Id"]})
    assert code_of(caught) == "FIELD_INTEGRITY_EXCEPTION"
