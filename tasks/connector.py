"""Prefect tasks for the Salesforce-Jira connector handover: the Salesforce side (the new user, the
connector's connected app, who has authorised it) and the Jira side's token check.

Every check is read-only; the two changes (revoking the leaver's leftover authorisations, granting the
app through a permission set) first look whether they are needed. Results are ids, names and counts,
never a token: an OauthToken's DeleteToken is used inside a task and never returned.
"""

from __future__ import annotations

from typing import Any

import requests
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from clients.jira_connector import JiraConnectorClient
from clients.salesforce import SalesforceClient, SalesforceError, soql_quote
from clients.vault import VaultNotFound
from core import redaction
from core.errors import BatonError
from tasks.connections import salesforce_admin, salesforce_session
from tasks.retry import RETRY
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}
FRESH: dict[str, Any] = {"cache_policy": NO_CACHE, **RETRY}  # asked again after a person's step
MAX_TOKENS_PER_APP = 5  # Salesforce keeps at most 5 per user per app; a sixth revokes the oldest


class PreflightRefused(BatonError):
    """A check before any change failed; the message says what to fix. Nothing was changed."""


class VerificationFailed(BatonError):
    """After the person's steps, the org or the connector does not show the handover done."""


def _sf() -> SalesforceClient:
    return salesforce_admin()


def same_id(a: object, b: object) -> bool:
    return bool(a) and bool(b) and str(a)[:15] == str(b)[:15]


def _user(username: str) -> dict[str, Any] | None:
    soql = (
        "SELECT Id, Username, IsActive, Profile.Name, Profile.PermissionsApiEnabled FROM User "
        f"WHERE Username = {soql_quote(username)}"
    )
    return _sf().one(soql)


@task(**PERSIST)
def check_users(successor: str, leaver: str) -> dict[str, str]:
    """The successor exists, is active, has API Enabled and is not the leaver; the leaver exists.
    ``{"successor_id", "leaver_id"}``."""
    found = _user(successor)
    if found is None:
        raise PreflightRefused(
            f"successor: there is no Salesforce user {successor}; create it first "
            "(flow create-salesforce-integration-user), then start this handover again"
        )
    profile = found.get("Profile") or {}
    if not found.get("IsActive"):
        raise PreflightRefused(
            f"successor: the Salesforce user {successor} is inactive; activate it (Setup > Users > Edit > Active) "
            "or choose another successor"
        )
    if not profile.get("PermissionsApiEnabled") and not _api_enabled_by_permission_set(str(found["Id"])):
        raise PreflightRefused(
            f"successor: the profile {profile.get('Name', '?')!r} of {successor} does not have API Enabled; the "
            "connector calls Salesforce's API as this user. Enable it on the profile (or give the user another "
            "profile), then start again"
        )
    old = _user(leaver)
    if old is None:
        raise PreflightRefused(f"leaver: there is no Salesforce user {leaver}; name the user the connector runs as")
    if same_id(old["Id"], found["Id"]):
        raise PreflightRefused(
            f"successor: {successor} is the leaver; the connector must move to a dedicated integration user"
        )
    return {"successor_id": str(found["Id"]), "leaver_id": str(old["Id"])}


def _api_enabled_by_permission_set(user_id: str) -> bool:
    rows = _sf().query(
        "SELECT PermissionSet.PermissionsApiEnabled FROM PermissionSetAssignment "
        f"WHERE AssigneeId = {soql_quote(user_id)}"
    )
    return any((r.get("PermissionSet") or {}).get("PermissionsApiEnabled") for r in rows)


def _profile_sets(user_id: str) -> dict[str, str]:
    """The permission set the user's profile owns (it counts for app grants as an assigned one does)."""
    user = _sf().one(f"SELECT ProfileId, Profile.Name FROM User WHERE Id = {soql_quote(user_id)}")
    if user is None:
        return {}
    rows = _sf().query(
        "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true "
        f"AND ProfileId = {soql_quote(str(user['ProfileId']))}"
    )
    return {str(r["Id"]): f"profile {(user.get('Profile') or {}).get('Name', '')}" for r in rows}


def _assigned(user_id: str) -> dict[str, str]:
    """Permission set Id → Name of every permission set assigned to *user_id*."""
    rows = _sf().query(
        "SELECT PermissionSetId, PermissionSet.Name FROM PermissionSetAssignment "
        f"WHERE AssigneeId = {soql_quote(user_id)}"
    )
    return {str(r["PermissionSetId"]): str((r.get("PermissionSet") or {}).get("Name", "")) for r in rows}


def _granting(app_id: str) -> set[str]:
    """Ids of the permission sets (and profiles' own permission sets) that grant the connected app."""
    rows = _sf().query(f"SELECT ParentId FROM SetupEntityAccess WHERE SetupEntityId = {soql_quote(app_id)}")
    return {str(r["ParentId"]) for r in rows}


@task(**PERSIST)
def check_permission_sets(successor_id: str, leaver_id: str, named: list[str], app_id: str | None) -> list[str]:
    """The permission sets the connector needs: those of *named* the leaver holds, and the leaver's ones that
    grant the connector's app. The successor must hold every one; returns their names."""
    mine, theirs = _assigned(successor_id), _assigned(leaver_id)
    grants = _granting(app_id) if app_id else set()
    needed = {pid: name for pid, name in theirs.items() if name in named or any(same_id(pid, g) for g in grants)}
    missing = sorted(name for pid, name in needed.items() if not any(same_id(pid, m) for m in mine))
    if missing:
        raise PreflightRefused(
            f"successor: it lacks the permission set(s) {', '.join(missing)} that the leaver holds for the "
            "connector; assign them (Setup > Users > Permission Set Assignments), then start again"
        )
    return sorted(needed.values())


@task(**PERSIST)
def check_connected_app(app_name: str, successor_id: str, grant_through: str = "") -> dict[str, Any]:
    """The connector's connected app is installed in the org (a ConnectedApplication row) and the successor may
    authorise it: with "Admin approved users are pre-authorized", a permission set of the successor must grant it
    (SetupEntityAccess). ``{"app_id", "admin_approved_only", "granted_by"}``."""
    app = _sf().one(
        "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
        f"WHERE Name = {soql_quote(app_name)}"
    )
    if app is None:
        raise PreflightRefused(
            f"the connected app {app_name!r} is not installed in the org: since September 2025 Salesforce refuses "
            "users an uninstalled connected app ('app must be installed into org'). Install it (Setup > Connected "
            "Apps OAuth Usage > Install), set Permitted Users, then start again"
        )
    app_id = str(app["Id"])
    admin_only = bool(app.get("OptionsAllowAdminApprovedUsersOnly"))
    granted = ""
    if admin_only:
        grants = _granting(app_id)
        held = _assigned(successor_id) | _profile_sets(successor_id)
        granted = next((name for pid, name in held.items() if any(same_id(pid, g) for g in grants)), "")
        if not granted and grant_through:
            granted = _grant(app_id, successor_id, grant_through)
        if not granted:
            raise PreflightRefused(
                f'successor: {app_name!r} allows only admin-approved users ("Admin approved users are '
                'pre-authorized") and no permission set of the successor grants it. Add the app to one of its '
                "permission sets (Setup > Permission Sets > Assigned Connected Apps), then start again"
            )
    return {"app_id": app_id, "admin_approved_only": admin_only, "granted_by": granted}


def _grant(app_id: str, successor_id: str, permission_set: str) -> str:
    """Grant the app through *permission_set* (which the successor must hold): a SetupEntityAccess row, unless
    there is one. The request asked for this change (``grant_app_through``)."""
    held = {name: pid for pid, name in _assigned(successor_id).items()}
    if permission_set not in held:
        raise PreflightRefused(
            f"grant_app_through: the successor does not hold the permission set {permission_set!r}; assign it first "
            "or name one it holds"
        )
    ps_id = held[permission_set]
    if not any(same_id(g, ps_id) for g in _granting(app_id)):
        _sf().create("SetupEntityAccess", {"ParentId": ps_id, "SetupEntityId": app_id})
        get_run_logger().info("granted the connected app %s through permission set %s", app_id, permission_set)
    return f"{permission_set} (granted by Baton, as asked)"


def _tokens(app_name: str) -> list[dict[str, Any]]:
    return _sf().query(
        f"SELECT UserId, User.Username, CreatedDate FROM OauthToken WHERE AppName = {soql_quote(app_name)} "
        "ORDER BY CreatedDate"
    )


def _authorizations(app_name: str, leaver_id: str, successor_id: str) -> dict[str, Any]:
    rows = _tokens(app_name)
    latest = rows[-1] if rows else None
    return {
        "leaver": sum(1 for r in rows if same_id(r["UserId"], leaver_id)),
        "successor": sum(1 for r in rows if same_id(r["UserId"], successor_id)),
        "others": sorted({str((r.get("User") or {}).get("Username", r["UserId"])) for r in rows
                          if not same_id(r["UserId"], leaver_id) and not same_id(r["UserId"], successor_id)}),
        "latest_user": str((latest.get("User") or {}).get("Username", "")) if latest else "",
        "latest_at": str(latest.get("CreatedDate", "")) if latest else "",
    }  # fmt: skip


@task(**PERSIST)
def check_tokens(app_name: str, leaver_id: str, successor_id: str) -> dict[str, Any]:
    """Who has authorised the connector's app (OauthToken). The connection must exist (authorised by the leaver,
    or already by the successor: a handover half done), and the successor must hold fewer than 5 tokens for it."""
    sees_all = _sf().one("SELECT PermissionsCustomizeApplication FROM UserPermissionAccess")
    if sees_all is not None and not sees_all.get("PermissionsCustomizeApplication"):
        raise PreflightRefused(
            "Baton's Salesforce user lacks Customize Application, so Salesforce shows it only its own OAuth tokens "
            "and it cannot tell who authorised the connector; give it that permission (profile or permission set)"
        )
    found = _authorizations(app_name, leaver_id, successor_id)
    if found["successor"] >= MAX_TOKENS_PER_APP:
        raise PreflightRefused(
            f"successor: it already holds {found['successor']} OAuth tokens for {app_name!r}; Salesforce keeps at "
            "most 5 per user per app and a new authorisation would silently revoke the oldest (perhaps another "
            "integration's). Revoke the unused ones (Setup > Users > the user > OAuth Connected Apps), then start again"
        )
    if not found["leaver"] and not found["successor"]:
        raise PreflightRefused(
            f"the connection is missing: nobody the handover names has authorised {app_name!r} in Salesforce "
            f"(authorised by: {', '.join(found['others']) or 'nobody'}). Check the connection in Jira (Jira Apps > "
            "Salesforce > Connections) and the leaver named"
        )
    return found


@task(**FRESH)
def authorizations(app_name: str, leaver_id: str, successor_id: str) -> dict[str, Any]:
    """The same look as check_tokens, asked again after a person's step (never from the cache)."""
    return _authorizations(app_name, leaver_id, successor_id)


@task(**PERSIST)
def who_authorised(app_name: str, leaver_id: str, successor_id: str, attempt: int) -> dict[str, Any]:
    """Who authorised the app right after the person's *attempt* at step 3 (wrong-user detection). Persisted per
    attempt: a replay of the run judges each attempt as it was judged when it was answered."""
    return _authorizations(app_name, leaver_id, successor_id)


@task(**PERSIST)
def revoke_leaver_tokens(app_name: str, leaver_id: str) -> int:
    """Revoke every authorisation of *app_name* by the leaver still in the org: each OauthToken's DeleteToken is
    sent to ``/services/oauth2/revoke``. Returns how many were revoked (0 when none is left)."""
    rows = _sf().query(
        f"SELECT DeleteToken FROM OauthToken WHERE AppName = {soql_quote(app_name)} "
        f"AND UserId = {soql_quote(leaver_id)}"
    )
    login = str(services().settings.salesforce_login_url).rstrip("/")
    session = salesforce_session()
    revoked = 0
    for row in rows:
        handle = str(row.get("DeleteToken") or "")
        if not handle:
            continue
        redaction.register(handle)
        try:
            reply = session.post(f"{login}/services/oauth2/revoke", data={"token": handle}, timeout=15)
        except requests.RequestException as exc:
            raise SalesforceError("revoke", "SERVER_UNAVAILABLE", f"no answer ({type(exc).__name__})", 503) from None
        if reply.status_code == 200:
            revoked += 1
        elif reply.status_code >= 500:
            raise SalesforceError("revoke", "SERVER_UNAVAILABLE", f"HTTP {reply.status_code}", reply.status_code)
    get_run_logger().info("revoked %s authorisation(s) of %s by %s", revoked, app_name, leaver_id)
    return revoked


def connector_url(variant: str) -> str:
    settings = services().settings
    url = settings.jira_site_url if variant == "cloud" else settings.jira_server_url
    if url is None:
        raise PreflightRefused("set BATON_JIRA_SERVER_URL (the Jira Server/Data Center base URL) for variant server")
    return str(url).rstrip("/")


def _token_check(variant: str, path: str, version: int) -> tuple[str, str] | None:
    values = services().custody.read_version(path, version).values
    token = next(iter(values.values())).get_secret_value()
    with JiraConnectorClient(connector_url(variant)) as client:
        found = client.connection_for_token(token)
    return (found.salesforce_user_id, found.salesforce_username) if found else None


@task(**FRESH)
def api_token_state(variant: str, vault_path: str) -> dict[str, Any]:
    """Whether the API access token in Vault (pending, else current) opens the connector, and as whom."""
    custody = services().custody
    try:
        state = custody.describe(vault_path)
    except VaultNotFound:
        return {"version": 0, "works": False, "salesforce_user_id": "", "salesforce_username": "", "current": False}
    version = state.pending_version or state.current_version
    if not version:
        return {"version": 0, "works": False, "salesforce_user_id": "", "salesforce_username": "", "current": False}
    found = _token_check(variant, vault_path, version)
    return {
        "version": version, "works": found is not None, "salesforce_user_id": found[0] if found else "",
        "salesforce_username": found[1] if found else "", "current": state.current_version == version,
    }  # fmt: skip


@task(**PERSIST)
def promote_api_token(vault_path: str, version: int, flow_run_id: str, rotated_by: str) -> int:
    """Promote the proven API access token to current (the previous one kept); idempotent."""
    custody = services().custody
    if custody.describe(vault_path).current_version != version:
        custody.promote(vault_path, version, rotated_by=rotated_by, flow_run_id=flow_run_id)
    get_run_logger().info("API access token %s v%s is current", vault_path, version)
    return version
