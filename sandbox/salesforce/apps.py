"""Connected apps as the org sees them: ConnectedApplication rows (installed apps only), SetupEntityAccess
grants (a permission set, or the permission set a profile owns, granting an app), and the policies checked
when a user authorizes or uses an app.

- Since September 2025 an end user cannot authorize a connected app that is not installed in the org:
  ``/services/oauth2/authorize`` ends on Salesforce's error page with ``error=invalid_client&error_description=
  app must be installed into org``. Users who authorized the app before keep using it, and users whose profile
  has "Approve Uninstalled Connected Apps" (the System Administrator standard profile) may still authorize it.
- An installed app whose Permitted Users is "Admin approved users are pre-authorized"
  (``OptionsAllowAdminApprovedUsersOnly``) refuses users not granted the app through their profile or a
  permission set: ``OAUTH_APP_ACCESS_DENIED`` / ``invalid_app_access`` "user is not admin approved to access
  this app"; LoginHistory says "Failed: Not approved for access". Pre-authorized users see no consent page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.salesforce.access import permission_sets_of
from sandbox.salesforce.errors import OAuthError, SfError

if TYPE_CHECKING:
    from sandbox.salesforce.auth import ConnectedApp
    from sandbox.salesforce.org import Org

Record = dict[str, Any]
UNINSTALLED = ("invalid_client", "app must be installed into org")
NOT_APPROVED = "user is not admin approved to access this app"
NOT_APPROVED_STATUS = "Failed: Not approved for access"


def sync_row(org: Org, app: ConnectedApp) -> None:
    """Keep the app's ConnectedApplication row as the app is: present while installed."""
    row = org.store.get("ConnectedApplication", app.id)
    if not app.installed:
        if row is not None:
            org.store.remove("ConnectedApplication", app.id)
            for grant in org.store.find("SetupEntityAccess", SetupEntityId=app.id):
                org.store.remove("SetupEntityAccess", grant["Id"])
        return
    values = {
        "Id": app.id,
        "Name": app.name,
        "OptionsAllowAdminApprovedUsersOnly": app.admin_approved_only,
        "OptionsIsInternal": False,
        "OptionsHasSessionLevelPolicy": False,
        "OptionsRefreshTokenValidityMetric": False,
        "RefreshTokenValidityPeriod": None,
        "StartUrl": None,
        "MobileStartUrl": None,
    }
    if row is None:
        org.store.put("ConnectedApplication", values)
    else:
        row.update(values)


def grant_parents(org: Org, user: Record) -> set[str]:
    """The permission sets whose SetupEntityAccess rows count for *user*: its profile's and its assigned ones."""
    owned = org.store.find("PermissionSet", ProfileId=user["ProfileId"], IsOwnedByProfile=True)
    return {ps["Id"] for ps in owned} | {ps["Id"] for ps in permission_sets_of(org, user["Id"])}


def preauthorized(org: Org, app: ConnectedApp, user: Record) -> bool:
    parents = grant_parents(org, user)
    return any(g["ParentId"] in parents for g in org.store.find("SetupEntityAccess", SetupEntityId=app.id))


def authorize_problem(org: Org, app: ConnectedApp, user: Record) -> tuple[str, str] | None:
    """Why *user* may not authorize *app* at /services/oauth2/authorize, as (error, description), or None."""
    if not app.installed:
        before = org.store.first("OauthToken", AppName=app.name, UserId=user["Id"]) is not None
        if not before and user["ProfileId"] not in org.uninstalled_approvers:
            return UNINSTALLED
        return None
    if app.admin_approved_only and not preauthorized(org, app, user):
        return "OAUTH_APP_ACCESS_DENIED", NOT_APPROVED
    return None


def check_token_use(org: Org, app: ConnectedApp, user: Record, kind: str) -> None:
    """Raise the token endpoint's refusal when *app*'s policy does not let *user* get a token."""
    if app.installed and app.admin_approved_only and not preauthorized(org, app, user):
        org.log_login(user, kind, NOT_APPROVED_STATUS, app=app.name)
        raise OAuthError("invalid_app_access", NOT_APPROVED)
    if not app.installed and org.store.first("OauthToken", AppName=app.name, UserId=user["Id"]) is None:
        if user["ProfileId"] not in org.uninstalled_approvers:
            raise OAuthError(*UNINSTALLED)


def before_grant(org: Org, values: Record) -> None:
    """SetupEntityAccess rules: an existing permission set, an installed connected app, no duplicate."""
    parent = org.store.get("PermissionSet", values["ParentId"])
    entity = org.store.get("ConnectedApplication", values["SetupEntityId"])
    if parent is None:
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ParentId"])
    if entity is None:
        raise SfError(
            400,
            "INVALID_CROSS_REFERENCE_KEY",
            "Setup Entity ID: id value of incorrect type or not an installed connected app",
            ["SetupEntityId"],
        )
    dup = org.store.first("SetupEntityAccess", ParentId=parent["Id"], SetupEntityId=entity["Id"])
    if dup:
        raise SfError(
            400,
            "DUPLICATE_VALUE",
            f"duplicate value found: SetupEntityId duplicates value on record with id: {dup['Id']}",
            [],
        )
    values["SetupEntityType"] = "ConnectedApplication"
