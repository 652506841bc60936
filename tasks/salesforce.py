"""Prefect tasks over the Salesforce client. Each one first looks for its change and returns early
when it is already there, so a rerun after a crash converges without duplicates. Results are ids and
Vault references, never a secret, and are persisted (a suspended run restarts from the top)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from prefect import get_run_logger, task

from clients.salesforce import SalesforceClient, SalesforceError, soql_quote
from clients.vault import StagedSecret, VaultNotFound
from tasks.connections import salesforce_admin, salesforce_session
from tasks.retry import RETRY
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}


class MissingInOrg(SalesforceError):
    """Something the request names does not exist in the org; the message names the field."""

    def __init__(self, field: str, value: str, known: list[str]) -> None:
        super().__init__("lookup", "NOT_FOUND", f"{field} {value!r} does not exist; known: {', '.join(known[:10])}")


@dataclass(frozen=True)
class UserSpec:
    first_name: str
    last_name: str
    email: str
    username: str
    alias: str
    profile_id: str
    role_id: str | None


def _sf() -> SalesforceClient:
    return salesforce_admin()


def _id_by_name(sobject: str, name: str, field: str) -> str:
    row = _sf().one(f"SELECT Id FROM {sobject} WHERE Name = {soql_quote(name)} LIMIT 1")
    if row is None:
        known = [str(r["Name"]) for r in _sf().query(f"SELECT Name FROM {sobject}")]
        raise MissingInOrg(field, name, known)
    return str(row["Id"])


@task(**PERSIST)
def find_user(username: str) -> str | None:
    """The Id of the user with *username*, or None (``SELECT Id FROM User WHERE Username = ...``)."""
    row = _sf().one(f"SELECT Id FROM User WHERE Username = {soql_quote(username)}")
    return str(row["Id"]) if row else None


@task(**PERSIST)
def role_id(role_name: str) -> str:
    return _id_by_name("UserRole", role_name, "role_name")


@task(**PERSIST)
def check_licence(profile_name: str, licence: str) -> dict[str, Any]:
    """The profile's licence must be the licence asked for, with a free seat (unless the user exists)."""
    profile = _sf().one(
        f"SELECT Id, UserLicenseId, PermissionsApiEnabled FROM Profile WHERE Name = {soql_quote(profile_name)}"
    )
    if profile is None:
        raise MissingInOrg("profile", profile_name, [str(r["Name"]) for r in _sf().query("SELECT Name FROM Profile")])
    licence_id = soql_quote(str(profile["UserLicenseId"]))
    row = _sf().one(f"SELECT Id, Name, TotalLicenses, UsedLicenses FROM UserLicense WHERE Id = {licence_id}")
    if row is None or row["Name"] != licence:
        have = row["Name"] if row else "none"
        mismatch = f"licence {licence!r} does not match profile {profile_name!r}, whose licence is {have!r}"
        raise SalesforceError("check licence", "FIELD_INTEGRITY_EXCEPTION", mismatch)
    return {
        "profile_id": str(profile["Id"]),
        "licence_id": str(row["Id"]),
        "free": int(row["TotalLicenses"]) - int(row["UsedLicenses"]),
    }


@task(**PERSIST)
def ensure_profile(profile_name: str) -> str:
    """The profile *profile_name*, with API Enabled set when it is off. (A clone is a Metadata API clone:
    ``tasks.salesforce_metadata.clone_profile``.)"""
    sf = _sf()
    row = sf.one(f"SELECT Id, PermissionsApiEnabled FROM Profile WHERE Name = {soql_quote(profile_name)}")
    if row is None:
        raise MissingInOrg("profile", profile_name, [str(r["Name"]) for r in sf.query("SELECT Name FROM Profile")])
    if not row.get("PermissionsApiEnabled"):
        sf.update("Profile", str(row["Id"]), {"PermissionsApiEnabled": True})
        get_run_logger().info("enabled API access on profile %s", profile_name)
    return str(row["Id"])


@task(**PERSIST)
def ensure_user(spec: UserSpec) -> str:
    """Create the user unless a user with that Username exists (then its Id is returned unchanged)."""
    sf = _sf()
    existing = sf.one(f"SELECT Id FROM User WHERE Username = {soql_quote(spec.username)}")
    if existing:
        get_run_logger().info("user %s exists already (%s); not creating another", spec.username, existing["Id"])
        return str(existing["Id"])
    fields: dict[str, Any] = {
        "FirstName": spec.first_name, "LastName": spec.last_name, "Email": spec.email, "Username": spec.username,
        "Alias": spec.alias, "ProfileId": spec.profile_id, "TimeZoneSidKey": "Europe/London",
        "LocaleSidKey": "en_GB", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
    }  # fmt: skip
    if spec.role_id:
        fields["UserRoleId"] = spec.role_id
    user_id = sf.create("User", fields)
    get_run_logger().info("created user %s (%s)", spec.username, user_id)
    return user_id


def generate_password(length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits + "!#$%*+-=?@^_"
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


@task(**PERSIST)
def ensure_password(
    user_id: str, vault_path: str, flow_run_id: str, staged_by: str = "create-salesforce-integration-user"
) -> StagedSecret:
    """A generated password, staged in Vault first, then set by API. Reuses a pending one after a crash;
    keeps a current one (nothing to rotate). Returns the Vault reference only."""
    custody = services().custody
    try:
        state = custody.describe(vault_path)
    except VaultNotFound:
        state = None
    if state and state.current_version and not state.pending_version:
        get_run_logger().info("password already in custody at %s v%s", vault_path, state.current_version)
        return StagedSecret(vault_path, state.current_version)
    if state and state.pending_version:
        staged = StagedSecret(vault_path, state.pending_version)
    else:
        staged = custody.stage(
            vault_path, {"password": generate_password()}, expect_version=state.latest_version if state else 0,
            staged_by=staged_by, flow_run_id=flow_run_id,
        )  # fmt: skip
    password = custody.read_version(vault_path, staged.version).values["password"].get_secret_value()
    _sf().set_password(user_id, password)
    get_run_logger().info("set the password of %s from Vault %s v%s", user_id, vault_path, staged.version)
    return staged


@task(**PERSIST)
def credential_in_custody(vault_path: str, user_id: str) -> int | None:
    """The current OAuth credential's version if it still works as *user_id* (then nothing to ask)."""
    custody = services().custody
    try:
        current = custody.read_current(vault_path)
    except VaultNotFound:
        return None
    try:
        who = _token_identity(current.values)
    except SalesforceError:
        return None
    return current.version if who == user_id else None


def _token_identity(values: dict[str, Any]) -> str:
    client = SalesforceClient.with_token(
        values["instance_url"].get_secret_value(),
        values["access_token"].get_secret_value(),
        session=salesforce_session(),
    )
    return client.identity().user_id


@task(**PERSIST)
def verify_oauth_and_promote(vault_path: str, version: int, user_id: str, flow_run_id: str, rotated_by: str) -> int:
    """A test call with the new tokens must answer as *user_id*; only then is the version promoted."""
    custody = services().custody
    if custody.describe(vault_path).current_version == version:
        return version
    values = custody.read_version(vault_path, version).values
    who = _token_identity(values)
    if who != user_id:
        custody.discard_pending(vault_path)
        raise SalesforceError(
            "verify",
            "WRONG_USER",
            f"the consent was given as {who}, not as the integration user {user_id}; sign in as the integration user",
        )
    custody.promote(vault_path, version, rotated_by=rotated_by, flow_run_id=flow_run_id)
    get_run_logger().info("verified the OAuth credential as %s; promoted %s v%s", user_id, vault_path, version)
    return version


@task(**PERSIST)
def verify_password_login_and_promote(
    username: str, password_path: str, token_path: str, token_version: int, flow_run_id: str, rotated_by: str
) -> int:
    """SOAP login as the user with the staged password + security token; promote both on success."""
    custody = services().custody
    settings = services().settings
    pw_state = custody.describe(password_path)
    pw_version = pw_state.pending_version or pw_state.current_version
    if pw_version is None:
        raise VaultNotFound("no password to verify", method="verify", path=password_path)
    password = custody.read_version(password_path, pw_version).values["password"].get_secret_value()
    token_values = custody.read_version(token_path, token_version).values
    token = next(iter(token_values.values())).get_secret_value()
    SalesforceClient.password_login(
        str(settings.salesforce_login_url), username, password, token, session=salesforce_session()
    )
    custody.promote(password_path, pw_version, rotated_by=rotated_by, flow_run_id=flow_run_id)
    custody.promote(token_path, token_version, rotated_by=rotated_by, flow_run_id=flow_run_id)
    get_run_logger().info("verified a password login as %s; promoted the password and the security token", username)
    return token_version


@task(**PERSIST)
def promote_password(vault_path: str, version: int, flow_run_id: str, rotated_by: str) -> None:
    services().custody.promote(vault_path, version, rotated_by=rotated_by, flow_run_id=flow_run_id)


@task(**PERSIST)
def password_login_works(username: str, password_path: str, token_path: str) -> bool:
    """True when the current password and security token in Vault log in (then nothing to ask)."""
    custody = services().custody
    settings = services().settings
    try:
        pw_state, token_state = custody.describe(password_path), custody.describe(token_path)
    except VaultNotFound:
        return False
    if not (pw_state.current_version and token_state.current_version) or pw_state.pending_version:
        return False
    password = custody.read_current(password_path).values["password"].get_secret_value()
    token = next(iter(custody.read_current(token_path).values.values())).get_secret_value()
    try:
        SalesforceClient.password_login(
            str(settings.salesforce_login_url), username, password, token, session=salesforce_session()
        )
    except SalesforceError:
        return False
    return True


# -- API-only integration users (guides/jotform-salesforce-api-only-user.txt) ----------------------


def _same_id(a: object, b: object) -> bool:
    """Salesforce Ids compare on their first 15 characters (the 18-character form adds a checksum)."""
    return bool(a) and bool(b) and str(a)[:15] == str(b)[:15]


@task(**PERSIST)
def permission_set_licence(name: str) -> dict[str, Any]:
    """The permission set licence called *name* (``SELECT ... FROM PermissionSetLicense``): Id and free seats."""
    fields = "Id, MasterLabel, TotalLicenses, UsedLicenses"
    row = _sf().one(f"SELECT {fields} FROM PermissionSetLicense WHERE MasterLabel = {soql_quote(name)} LIMIT 1")
    if row is None:
        known = [str(r["MasterLabel"]) for r in _sf().query("SELECT MasterLabel FROM PermissionSetLicense")]
        raise MissingInOrg("permission set licence", name, known)
    return {"id": str(row["Id"]), "free": int(row["TotalLicenses"] or 0) - int(row["UsedLicenses"] or 0)}


@task(**PERSIST)
def existing_user(username: str) -> dict[str, Any] | None:
    """The user with *username* (Id, profile name, active), or None; nothing is changed."""
    soql = f"SELECT Id, IsActive, Profile.Name FROM User WHERE Username = {soql_quote(username)}"
    row = _sf().one(soql)
    if row is None:
        return None
    profile = row.get("Profile") or {}
    return {"id": str(row["Id"]), "profile": str(profile.get("Name", "")), "active": bool(row.get("IsActive"))}


@task(**PERSIST)
def ensure_permission_set(name: str, label: str, licence_id: str) -> str:
    """The permission set with API name *name* and the licence *licence_id*; created unless it exists.

    An existing one without that licence is refused (assigning it would not give what the guide asks)."""
    sf = _sf()
    row = sf.one(f"SELECT Id, Label, LicenseId FROM PermissionSet WHERE Name = {soql_quote(name)}")
    if row is not None:
        if not _same_id(row.get("LicenseId"), licence_id):
            raise SalesforceError(
                "ensure permission set", "FIELD_INTEGRITY_EXCEPTION",
                f"permission set {name!r} exists without the licence {licence_id}; a licence cannot be added to an "
                "existing permission set, so choose another permission_set_name",
                fields=["Name"],
            )  # fmt: skip
        get_run_logger().info("permission set %s exists already (%s)", name, row["Id"])
        return str(row["Id"])
    ps_id = sf.create("PermissionSet", {"Name": name, "Label": label, "LicenseId": licence_id})
    get_run_logger().info("created permission set %s (%s) with licence %s", name, ps_id, licence_id)
    return ps_id


def _ensure_assignment(sobject: str, fields: dict[str, str], what: str) -> str:
    """The Id of the *sobject* row with exactly *fields*, created when there is none."""
    sf = _sf()
    where = " AND ".join(f"{name} = {soql_quote(value)}" for name, value in fields.items())
    row = sf.one(f"SELECT Id FROM {sobject} WHERE {where}")
    if row is not None:
        return str(row["Id"])
    assignment = sf.create(sobject, dict(fields))
    get_run_logger().info("assigned %s (%s)", what, assignment)
    return assignment


@task(**PERSIST)
def ensure_licence_assignment(user_id: str, licence_id: str) -> str:
    """A PermissionSetLicenseAssign of *licence_id* to *user_id*, unless there is one; returns its Id."""
    fields = {"AssigneeId": user_id, "PermissionSetLicenseId": licence_id}
    return _ensure_assignment("PermissionSetLicenseAssign", fields, f"permission set licence {licence_id} to {user_id}")


@task(**PERSIST)
def ensure_permission_set_assignment(user_id: str, permission_set_id: str) -> str:
    """A PermissionSetAssignment of *permission_set_id* to *user_id*, unless there is one; returns its Id."""
    fields = {"AssigneeId": user_id, "PermissionSetId": permission_set_id}
    return _ensure_assignment("PermissionSetAssignment", fields, f"permission set {permission_set_id} to {user_id}")


@task(**PERSIST)
def email_verified(username: str, password_path: str) -> bool | None:
    """Whether the user has verified their e-mail, as the org reports it to the user (userinfo's
    ``email_verified``, after a password grant as the user through Baton's connected app with the
    password in Vault). None when the org does not let Baton ask (e.g. the password flow is blocked)."""
    custody = services().custody
    settings = services().settings
    state = custody.describe(password_path)
    version = state.pending_version or state.current_version
    if version is None or not settings.salesforce_client_id or settings.salesforce_client_secret is None:
        return None
    password = custody.read_version(password_path, version).values["password"].get_secret_value()
    try:
        client = SalesforceClient.password_grant(
            str(settings.salesforce_login_url), settings.salesforce_client_id,
            settings.salesforce_client_secret.get_secret_value(), username, password, session=salesforce_session(),
        )  # fmt: skip
        verified = client.identity().email_verified
    except SalesforceError as exc:
        if exc.retryable:
            raise
        get_run_logger().info("cannot ask the org whether %s is verified (%s); a person's answer is the record",
                              username, exc.code)  # fmt: skip
        return None
    get_run_logger().info("the org reports the e-mail of %s as %s", username, "verified" if verified else "unverified")
    return verified


@task(**PERSIST)
def app_authorization(app_name: str, user_id: str) -> dict[str, Any]:
    """Whether *user_id* has authorized the connected app *app_name* (an OauthToken row), and who did last.

    OauthToken rows have no usable Id (always null), and a user without Customize Application sees only
    its own rows; so this keys on (AppName, UserId) and says when Baton's user cannot tell.
    ``{"authorized": True/False, or None when Baton's user cannot see other users' tokens,
    "tokens": how many rows the user has for the app, "latest_user": username of the latest authorization}``."""
    sf = _sf()
    mine = sf.query(
        f"SELECT UserId, CreatedDate FROM OauthToken WHERE AppName = {soql_quote(app_name)} "
        f"AND UserId = {soql_quote(user_id)}"
    )
    latest = sf.one(
        f"SELECT User.Username FROM OauthToken WHERE AppName = {soql_quote(app_name)} ORDER BY CreatedDate DESC LIMIT 1"
    )
    latest_user = (latest.get("User") or {}).get("Username") if latest else None
    authorized: bool | None = bool(mine)
    if not mine:
        access = sf.one("SELECT PermissionsCustomizeApplication FROM UserPermissionAccess")
        if not (access or {}).get("PermissionsCustomizeApplication"):
            get_run_logger().info(
                "Baton's Salesforce user lacks Customize Application, so it sees only its own OauthToken rows; "
                "whether %s authorized %s is a person's answer", user_id, app_name,
            )  # fmt: skip
            authorized = None
    return {"authorized": authorized, "tokens": len(mine), "latest_user": str(latest_user) if latest_user else None}
