"""Who may see and do what: a user's effective permissions (profile plus assigned permission sets),
the rows of query-only objects each user sees, and the virtual rows of UserPermissionAccess.

- OauthToken: "Users with the Customize Application permission see all tokens for all users in the
  org. Otherwise, you see only your own tokens." Its Id is "Reserved for future use. Currently, the
  value is always null." (Object Reference), so queries see a null Id; revocation is by DeleteToken.
- UserPermissionAccess: one row, the querying user's effective permissions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.salesforce.org import Org

Record = dict[str, Any]
PERMISSIONS = ("ApiEnabled", "ManageUsers", "CustomizeApplication")


def permission_sets_of(org: Org, user_id: str) -> list[Record]:
    """The permission sets assigned to the user (not the one its profile owns)."""
    ids = {a["PermissionSetId"] for a in org.store.find("PermissionSetAssignment", AssigneeId=user_id)}
    return [ps for ps in org.store.all("PermissionSet") if ps["Id"] in ids]


def has_permission(org: Org, user: Record, name: str) -> bool:
    """*name* without the ``Permissions`` prefix, e.g. ``CustomizeApplication``; a profile's permissions without
    a field of their own (e.g. ``ModifyAllData``, set through the Metadata API) count too."""
    field = "Permissions" + name
    profile = org.profile_of(user)
    if profile.get(field) or (profile.get("_userPermissions") or {}).get(name):
        return True
    return any(ps.get(field) for ps in permission_sets_of(org, user["Id"]))


def visible(org: Org, spec_name: str, rows: list[Record], user: Record | None) -> list[Record]:
    """The rows of *spec_name* a query by *user* sees (copies; ``None`` user: the org itself)."""
    if spec_name == "UserPermissionAccess":
        if user is None:
            return []
        return [{"Id": None, **{"Permissions" + p: has_permission(org, user, p) for p in PERMISSIONS}}]
    if spec_name == "OauthToken":
        if user is not None and not has_permission(org, user, "CustomizeApplication"):
            rows = [r for r in rows if r["UserId"] == user["Id"]]
        return [{**r, "Id": None} for r in rows]
    return rows
