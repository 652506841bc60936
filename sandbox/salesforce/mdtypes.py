"""The two metadata types the stand-in's Metadata API serves, as the WSDL shapes them: Profile (custom,
description, loginHours, loginIpRanges, userLicense, userPermissions) and ConnectedApp (contactEmail,
label, oauthConfig with callbackUrl, certificate, consumerKey, isAdminApproved, scopes; the pre-authorized
profileName / permissionSetName, read only). Each call returns a SaveResult ``{"fullName", "success",
"errors"}``; nothing is half-applied."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from cryptography import x509

from sandbox.salesforce import apps, restrictions, rules

if TYPE_CHECKING:
    from sandbox.salesforce.auth import ConnectedApp
    from sandbox.salesforce.org import Org

Record = dict[str, Any]
FIELD_PERMISSIONS = {
    "ApiEnabled": "PermissionsApiEnabled",
    "ApiUserOnly": "PermissionsApiUserOnly",
    "ManageUsers": "PermissionsManageUsers",
    "CustomizeApplication": "PermissionsCustomizeApplication",
}
# Standard profiles' metadata names differ from their labels.
STANDARD_FULL_NAMES = {"System Administrator": "Admin", "Standard User": "Standard"}
SCOPES = {"api": "Api", "refresh_token": "RefreshToken", "offline_access": "OfflineAccess", "id": "Basic",
          "openid": "OpenID", "web": "Web", "full": "Full", "profile": "Profile", "email": "Email"}  # fmt: skip
_PERMISSION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


class MetadataProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def saved(full_name: str) -> Record:
    return {"fullName": full_name, "success": True}


def failed(full_name: str, problem: MetadataProblem) -> Record:
    return {
        "errors": [{"message": problem.message, "statusCode": problem.code}],
        "fullName": full_name,
        "success": False,
    }


def _missing(kind: str, full_name: str) -> MetadataProblem:
    return MetadataProblem("INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no {kind} named {full_name} found")


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# -- Profile ------------------------------------------------------------------------------------------------------
def profile_full_name(profile: Record) -> str:
    return str(STANDARD_FULL_NAMES.get(profile["Name"], profile["Name"]))


def find_profile(org: Org, full_name: str) -> Record | None:
    return next((p for p in org.store.all("Profile") if profile_full_name(p) == full_name), None)


def permissions_of(profile: Record) -> dict[str, bool]:
    perms = {name: bool(profile.get(field)) for name, field in FIELD_PERMISSIONS.items()}
    return perms | dict(profile.get("_userPermissions") or {})


def read_profile(org: Org, profile: Record) -> Record:
    licence = org.store.get("UserLicense", profile["UserLicenseId"])
    return {
        "@type": "Profile",
        "fullName": profile_full_name(profile),
        "custom": bool(profile.get("_custom")),
        "description": profile.get("Description"),
        "loginHours": dict(sorted((profile.get("_loginHours") or {}).items())) or None,
        "loginIpRanges": [dict(r) for r in profile.get("_loginIpRanges") or []],
        "userLicense": licence["Name"] if licence else None,
        "userPermissions": [{"enabled": True, "name": n} for n, on in sorted(permissions_of(profile).items()) if on],
    }


def _profile_changes(data: Record) -> Record:
    """Checked changes from a Profile element: permissions, ranges, hours, description."""
    changes: Record = {}
    perms: dict[str, bool] = {}
    for item in data.get("userPermissions") or []:
        name = str(item.get("name", "")) if isinstance(item, dict) else ""
        if not _PERMISSION_RE.match(name):
            raise MetadataProblem("FIELD_INTEGRITY_EXCEPTION", f"Unknown user permission: {name}")
        perms[name] = _bool(item.get("enabled"))
    changes["perms"] = perms
    if "loginIpRanges" in data:
        ranges = []
        for item in data["loginIpRanges"] or []:
            start, end = str(item.get("startAddress", "")), str(item.get("endAddress", ""))
            problem = restrictions.range_problem(start, end)
            if problem:
                raise MetadataProblem("FIELD_INTEGRITY_EXCEPTION", f"loginIpRanges: {problem}")
            ranges.append({"description": item.get("description") or None, "endAddress": end, "startAddress": start})
        changes["_loginIpRanges"] = ranges
    if "loginHours" in data:
        hours = data["loginHours"] if isinstance(data["loginHours"], dict) else {}
        for key, value in hours.items():
            if not (str(value).isdigit() and int(value) <= 1440):
                raise MetadataProblem(
                    "FIELD_INTEGRITY_EXCEPTION", f"loginHours.{key}: minutes after midnight up to 1440; got {value!r}"
                )
        changes["_loginHours"] = {k: str(v) for k, v in hours.items()}
    if "description" in data:
        changes["Description"] = data["description"] or None
    return changes


def _apply_profile(profile: Record, changes: Record) -> None:
    extras = dict(profile.get("_userPermissions") or {})
    for name, on in changes.pop("perms").items():
        if name in FIELD_PERMISSIONS:
            profile[FIELD_PERMISSIONS[name]] = on
        else:
            extras[name] = on
    profile["_userPermissions"] = {k: v for k, v in extras.items() if v}
    profile.update(changes)


def create_profile(org: Org, data: Record) -> Record:
    full_name = str(data.get("fullName", ""))
    try:
        if not full_name:
            raise MetadataProblem("FIELD_INTEGRITY_EXCEPTION", "fullName: required")
        if find_profile(org, full_name) or org.store.first("Profile", Name=full_name):
            raise MetadataProblem(
                "DUPLICATE_VALUE", f"duplicate value found: Name duplicates value on profile {full_name}"
            )
        licence = org.store.first("UserLicense", Name=str(data.get("userLicense", "")))
        if licence is None:
            raise MetadataProblem(
                "INVALID_CROSS_REFERENCE_KEY",
                f"In field: userLicense - no UserLicense named {data.get('userLicense')} found",
            )
        changes = _profile_changes(data)
        with org.world.lock:
            values = {"Name": full_name, "UserLicenseId": licence["Id"], "UserType": "Standard", "_custom": True}
            profile = org.store.put("Profile", values | {field: False for field in FIELD_PERMISSIONS.values()})
            _apply_profile(profile, changes)
            owned = {"Name": "X" + profile["Id"], "Label": profile["Id"], "IsOwnedByProfile": True}
            org.store.put("PermissionSet", owned | {"ProfileId": profile["Id"]})
            rules.recount(org)
    except MetadataProblem as problem:
        return failed(full_name, problem)
    return saved(full_name)


def update_profile(org: Org, data: Record) -> Record:
    full_name = str(data.get("fullName", ""))
    try:
        profile = find_profile(org, full_name)
        if profile is None:
            raise _missing("Profile", full_name)
        if data.get("userLicense") not in (None, ""):
            licence = org.store.get("UserLicense", profile["UserLicenseId"])
            if licence is None or licence["Name"] != data["userLicense"]:
                raise MetadataProblem(
                    "FIELD_INTEGRITY_EXCEPTION", "userLicense: a profile's user license cannot be changed"
                )
        changes = _profile_changes(data)
        with org.world.lock:
            _apply_profile(profile, changes)
    except MetadataProblem as problem:
        return failed(full_name, problem)
    return saved(full_name)


# -- ConnectedApp ---------------------------------------------------------------------------------------------------
def app_full_name(app: ConnectedApp) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", app.name).strip("_")


def find_app(org: Org, full_name: str) -> ConnectedApp | None:
    return next((a for a in org.apps.values() if a.installed and app_full_name(a) == full_name), None)


def read_app(org: Org, app: ConnectedApp) -> Record:
    grants = org.store.find("SetupEntityAccess", SetupEntityId=app.id)
    parents = [org.store.get("PermissionSet", g["ParentId"]) for g in grants]
    profiles = [org.store.get("Profile", p["ProfileId"]) for p in parents if p and p["IsOwnedByProfile"]]
    return {
        "@type": "ConnectedApp",
        "fullName": app_full_name(app),
        "contactEmail": app.contact_email,
        "label": app.name,
        "oauthConfig": {
            "callbackUrl": "\n".join(app.redirect_uris),
            "certificate": app.certificate,
            "consumerKey": app.client_id,
            "isAdminApproved": app.admin_approved_only,
            "scopes": [SCOPES.get(s, s) for s in app.scopes],
        },
        "permissionSetName": sorted(p["Name"] for p in parents if p and not p["IsOwnedByProfile"]),
        "profileName": sorted(profile_full_name(p) for p in profiles if p),
    }


def _oauth_changes(config: Any) -> Record:
    if not isinstance(config, dict):
        return {}
    out: Record = {}
    if config.get("callbackUrl"):
        out["redirect_uris"] = [u.strip() for u in str(config["callbackUrl"]).split() if u.strip()]
    if "certificate" in config:
        pem = str(config["certificate"] or "").strip()
        if pem:
            try:
                x509.load_pem_x509_certificate(pem.encode())
            except ValueError as exc:
                raise MetadataProblem(
                    "FIELD_INTEGRITY_EXCEPTION", "certificate: not an X.509 certificate in PEM format"
                ) from exc
        out["certificate"] = pem or None
    if "isAdminApproved" in config:
        out["admin_approved_only"] = _bool(config["isAdminApproved"])
    if "scopes" in config:
        back = {v: k for k, v in SCOPES.items() if k != "offline_access"}
        unknown = [s for s in config["scopes"] if s not in back and s != "OfflineAccess"]
        if unknown:
            raise MetadataProblem("FIELD_INTEGRITY_EXCEPTION", f"oauthConfig.scopes: unknown scope(s) {unknown}")
        out["scopes"] = [back.get(s, "offline_access") for s in config["scopes"]]
    return out


def update_app(org: Org, data: Record) -> Record:
    full_name = str(data.get("fullName", ""))
    try:
        app = find_app(org, full_name)
        if app is None:
            raise _missing("ConnectedApp", full_name)
        config = data.get("oauthConfig")
        if isinstance(config, dict) and config.get("consumerKey") not in (None, "", app.client_id):
            raise MetadataProblem(
                "FIELD_INTEGRITY_EXCEPTION", "oauthConfig.consumerKey: the consumer key cannot be changed"
            )
        changes = _oauth_changes(config)
        with org.world.lock:
            for key, value in changes.items():
                setattr(app, key, value)
            if data.get("contactEmail"):
                app.contact_email = str(data["contactEmail"])
            apps.sync_row(org, app)
    except MetadataProblem as problem:
        return failed(full_name, problem)
    return saved(full_name)


def create_app(org: Org, data: Record) -> Record:
    full_name = str(data.get("fullName", ""))
    try:
        label = str(data.get("label") or "")
        if not full_name or not label or not data.get("contactEmail"):
            raise MetadataProblem("FIELD_INTEGRITY_EXCEPTION", "fullName, label and contactEmail are required")
        if find_app(org, full_name) or org.connected_app(label):
            raise MetadataProblem("DUPLICATE_DEVELOPER_NAME", f"There is already a connected app named {full_name}")
        config = data.get("oauthConfig")
        config = config if isinstance(config, dict) else {}
        changes = _oauth_changes(config)
        key = str(config.get("consumerKey") or "3MVG9" + secrets.token_urlsafe(60))
        app = org.register_connected_app(label, key, secrets.token_hex(32).upper(), changes.pop("redirect_uris", []),
                                         contact_email=str(data["contactEmail"]), **changes)  # fmt: skip
        apps.sync_row(org, app)
    except MetadataProblem as problem:
        return failed(full_name, problem)
    return saved(full_name)
