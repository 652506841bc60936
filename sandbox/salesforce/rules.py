"""Business rules Salesforce enforces on writes: unique usernames, licences, permission-set names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.salesforce import apps
from sandbox.salesforce.errors import SfError

if TYPE_CHECKING:
    from sandbox.salesforce.org import Org

Record = dict[str, Any]
_API_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
DUPLICATE_USERNAME = (
    "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames "
    "must be unique across all Salesforce organizations. To resolve, use a different username (it doesn't need "
    "to match the user's email address). "
)


def recount(org: Org) -> None:
    """UsedLicenses of user licences (active users) and permission set licences (assignments)."""
    store = org.store
    for lic in store.all("UserLicense"):
        profiles = {p["Id"] for p in store.find("Profile", UserLicenseId=lic["Id"])}
        lic["UsedLicenses"] = sum(1 for u in store.all("User") if u["IsActive"] and u["ProfileId"] in profiles)
    for psl in store.all("PermissionSetLicense"):
        psl["UsedLicenses"] = len(store.find("PermissionSetLicenseAssign", PermissionSetLicenseId=psl["Id"]))


def licence_of_profile(org: Org, profile_id: str | None) -> Record | None:
    profile = org.store.get("Profile", profile_id)
    return org.store.get("UserLicense", profile["UserLicenseId"]) if profile else None


def _check_seat(org: Org, profile_id: str | None, user_id: str | None) -> None:
    lic = licence_of_profile(org, profile_id)
    if lic is None:
        return
    profiles = {p["Id"] for p in org.store.find("Profile", UserLicenseId=lic["Id"])}
    used = sum(1 for u in org.store.all("User") if u["IsActive"] and u["ProfileId"] in profiles and u["Id"] != user_id)
    if used >= int(lic["TotalLicenses"] or 0):
        raise SfError(400, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])


def before_insert(org: Org, name: str, values: Record) -> None:
    if name == "User":
        _user_values(org, values, None)
        if values.get("IsActive") is None:
            values["IsActive"] = True
        if values["IsActive"]:
            _check_seat(org, values["ProfileId"], None)
    elif name == "Profile":
        clash = org.store.first("Profile", Name=values["Name"])
        if clash:
            raise SfError(
                400,
                "DUPLICATE_VALUE",
                f"duplicate value found: Name duplicates value on record with id: {clash['Id']}",
                ["Name"],
            )
        lic = org.store.get("UserLicense", values["UserLicenseId"])
        values.setdefault("UserType", "Standard")
        values["PermissionsApiEnabled"] = bool(values.get("PermissionsApiEnabled"))
        if lic and values.get("PermissionsApiUserOnly") is None:
            values["PermissionsApiUserOnly"] = False
    elif name == "PermissionSet":
        _permission_set_name(org, values["Name"], None)
        values["IsOwnedByProfile"] = False
    elif name == "PermissionSetLicenseAssign":
        _psl_assign(org, values)
    elif name == "PermissionSetAssignment":
        _ps_assign(org, values)
    elif name == "SetupEntityAccess":
        apps.before_grant(org, values)
    elif name == "UserRole":
        values.setdefault("DeveloperName", re.sub(r"\W+", "_", values["Name"]).strip("_"))


def before_update(org: Org, name: str, record: Record, changes: Record) -> None:
    if name == "User":
        _user_values(org, {**record, **changes}, record["Id"], changes)
        merged = {**record, **changes}
        if merged["IsActive"] and (changes.get("IsActive") or "ProfileId" in changes):
            _check_seat(org, merged["ProfileId"], record["Id"])
        if "ProfileId" in changes:
            old = licence_of_profile(org, record["ProfileId"])
            new = licence_of_profile(org, changes["ProfileId"])
            if old and new and old["Id"] != new["Id"] and "Integration" in (old["Name"] + new["Name"]):
                raise SfError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "You can't change the user license of a user from or to Salesforce Integration.",
                    ["ProfileId"],
                )
    elif name == "PermissionSet" and "Name" in changes:
        _permission_set_name(org, changes["Name"], record["Id"])
    elif name == "Profile" and "Name" in changes:
        other = org.store.first("Profile", Name=changes["Name"])
        if other and other["Id"] != record["Id"]:
            raise SfError(
                400,
                "DUPLICATE_VALUE",
                f"duplicate value found: Name duplicates value on record with id: {other['Id']}",
                ["Name"],
            )


def _user_values(org: Org, values: Record, user_id: str | None, changes: Record | None = None) -> None:
    touched = values if changes is None else changes
    if "Username" in touched:
        username = str(values["Username"])
        if "@" not in username:
            raise SfError(
                400,
                "INVALID_NEW_USERNAME",
                "Username: The username must be in the form of an email address (for example, john@acme.com).",
                ["Username"],
            )
        clash = [u for u in org.store.all("User") if u["Username"].lower() == username.lower() and u["Id"] != user_id]
        if clash or username.lower() in org.reserved_usernames:
            raise SfError(400, "DUPLICATE_USERNAME", DUPLICATE_USERNAME, ["Username"])
    if changes is None:
        first = values.get("FirstName") or ""
        values["Name"] = f"{first} {values['LastName']}".strip()
        values.setdefault("CommunityNickname", None)
        values["CommunityNickname"] = values["CommunityNickname"] or str(values["Username"]).split("@")[0]
        values["UserType"] = "Standard"
    elif "FirstName" in changes or "LastName" in changes:
        changes["Name"] = f"{values.get('FirstName') or ''} {values['LastName']}".strip()


def _permission_set_name(org: Org, name: str, ps_id: str | None) -> None:
    if not _API_NAME_RE.match(name):
        raise SfError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "The API Name can only contain underscores and alphanumeric characters. It must be unique, "
            "begin with a letter, not include spaces, not end with an underscore, and not contain two "
            "consecutive underscores.",
            ["Name"],
        )
    clash = [p for p in org.store.all("PermissionSet") if p["Name"].lower() == name.lower() and p["Id"] != ps_id]
    if clash:
        raise SfError(
            400,
            "DUPLICATE_DEVELOPER_NAME",
            "The API Name you entered is already in use. Enter a unique API Name.",
            ["Name"],
        )


def _psl_assign(org: Org, values: Record) -> None:
    psl = org.store.get("PermissionSetLicense", values["PermissionSetLicenseId"])
    user = org.store.get("User", values["AssigneeId"])
    if psl is None or user is None:
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    dup = org.store.first("PermissionSetLicenseAssign", AssigneeId=user["Id"], PermissionSetLicenseId=psl["Id"])
    if dup:
        raise SfError(
            400,
            "DUPLICATE_VALUE",
            f"duplicate value found: PermissionSetLicenseId duplicates value on record with id: {dup['Id']}",
            [],
        )
    allowed = org.psl_user_licences.get(psl["Id"])
    lic = licence_of_profile(org, user["ProfileId"])
    if allowed and (lic is None or lic["Name"] not in allowed):
        raise SfError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"Can't assign permission set license {psl['MasterLabel']} to user {user['Username']}. "
            f"The user's license ({lic['Name'] if lic else 'none'}) doesn't allow this permission set "
            f"license.",
            ["PermissionSetLicenseId"],
        )
    if int(psl["UsedLicenses"] or 0) >= int(psl["TotalLicenses"] or 0):
        raise SfError(400, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])


def _ps_assign(org: Org, values: Record) -> None:
    ps = org.store.get("PermissionSet", values["PermissionSetId"])
    user = org.store.get("User", values["AssigneeId"])
    if ps is None or user is None:
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    dup = org.store.first("PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=ps["Id"])
    if dup:
        raise SfError(
            400,
            "DUPLICATE_VALUE",
            f"duplicate value found: PermissionSetId duplicates value on record with id: {dup['Id']}",
            [],
        )
    if ps["IsOwnedByProfile"]:
        raise SfError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            "You can't assign or unassign this permission set because it's associated with a profile.",
            [],
        )
    psl = org.store.get("PermissionSetLicense", ps["LicenseId"])
    if psl and not org.store.first(
        "PermissionSetLicenseAssign", AssigneeId=user["Id"], PermissionSetLicenseId=psl["Id"]
    ):
        raise SfError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"Can't assign permission set {ps['Label']} to user {user['Username']}. The user must be "
            f"assigned the permission set license {psl['MasterLabel']} before you can assign this "
            f"permission set.",
            ["PermissionSetId"],
        )
