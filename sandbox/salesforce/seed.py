"""Build an Org from the scenario's ``salesforce:`` section, with errors that name the key."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sandbox.salesforce import rules
from sandbox.salesforce.auth import new_security_token
from sandbox.salesforce.ids import IdFactory, normalize, to18
from sandbox.salesforce.org import Org
from sandbox.scenario import ScenarioError
from sandbox.world import World

DEFAULT_LICENCES = [
    {"name": "Salesforce", "total": 10, "key": "SFDC"},
    {"name": "Salesforce Platform", "total": 5, "key": "AUL"},
    {"name": "Salesforce Integration", "total": 5, "key": "SFDC_INTEGRATION"},
]
DEFAULT_PSLS = [{"name": "Salesforce API Integration", "total": 5, "user_licenses": ["Salesforce Integration"]}]
DEFAULT_PROFILES = [
    {
        "name": "System Administrator",
        "license": "Salesforce",
        "api_enabled": True,
        "manage_users": True,
        "customize_application": True,
    },
    {"name": "Standard User", "license": "Salesforce", "api_enabled": True},
    {"name": "Minimum Access - Salesforce", "license": "Salesforce", "api_enabled": False},
    {"name": "Standard Platform User", "license": "Salesforce Platform", "api_enabled": True},
    {
        "name": "Minimum Access - API Only Integrations",
        "license": "Salesforce Integration",
        "api_enabled": True,
        "api_only": True,
    },
]
# Profile permissions without a field of their own (the Metadata API's userPermissions), by profile name.
DEFAULT_PERMISSIONS = {
    "System Administrator": ["ModifyAllData", "ViewAllData", "ViewSetup", "RunReports", "ExportReport",
                             "ManageProfilesPermissionsets", "AuthorApex", "EditTask", "EditEvent", "ActivitiesAccess"],
    "Standard User": ["RunReports", "ExportReport", "EditTask", "EditEvent", "ActivitiesAccess", "ChatterInternalUser"],
    "Standard Platform User": ["RunReports", "EditTask", "EditEvent", "ActivitiesAccess", "ChatterInternalUser"],
}  # fmt: skip
USER_DEFAULTS = {
    "TimeZoneSidKey": "Europe/Paris",
    "LocaleSidKey": "en_US",
    "EmailEncodingKey": "UTF-8",
    "LanguageLocaleKey": "en_US",
}
_TOP_KEYS = {
    "org",
    "daily_api_limit",
    "api_used",
    "query_batch_size",
    "reserved_usernames",
    "user_licenses",
    "permission_set_licenses",
    "profiles",
    "roles",
    "permission_sets",
    "users",
    "connected_apps",
    "oauth_tokens",
}


def _fail(key: str, message: str) -> ScenarioError:
    return ScenarioError(f"salesforce.{key}: {message}")


def _items(section: dict[str, Any], key: str, default: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    value = section.get(key, default if default is not None else [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(key, "must be a list of mappings")
    return value


def _need(item: dict[str, Any], key: str, where: str) -> Any:
    if item.get(key) in (None, ""):
        raise _fail(where, f"{key} is required")
    return item[key]


def _lookup(org: Org, sobject: str, field: str, value: Any, where: str) -> str:
    found = org.store.first(sobject, **{field: value})
    if found is None:
        known = sorted(str(r[field]) for r in org.store.all(sobject))
        raise _fail(where, f"no {sobject} with {field} {value!r}; known: {known}")
    return str(found["Id"])


def build_org(world: World, section: Any) -> Org:
    section = section or {}
    if not isinstance(section, dict):
        raise ScenarioError("salesforce: must be a mapping (see docs/sandbox-salesforce.md)")
    unknown = sorted(set(section) - _TOP_KEYS)
    if unknown:
        raise ScenarioError(f"salesforce: unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    meta = section.get("org") or {}
    time_zone = str(meta.get("time_zone", "UTC"))
    try:
        ZoneInfo(time_zone)
    except (ValueError, KeyError) as exc:
        raise _fail("org.time_zone", f"not an IANA time zone such as Europe/Paris; got {time_zone!r}") from exc
    ids = IdFactory()
    org_id = str(meta.get("id") or ids.new("Organization"))
    if normalize(org_id[:15]) is None or len(org_id) not in (15, 18) or not org_id.startswith("00D"):
        raise _fail("org.id", f"must be a 15- or 18-character Id starting with 00D; got {org_id!r}")
    org = Org(
        world,
        org_id=to18(org_id[:15]),
        name=str(meta.get("name", "Acme")),
        base_url=world.urls.get("salesforce", "https://127.0.0.1"),
        ids=ids,
    )
    org.time_zone = time_zone
    org.store.put(
        "Organization",
        {
            "Id": org.org_id,
            "Name": org.name,
            "OrganizationType": "Enterprise Edition",
            "InstanceName": "SANDBOX1",
            "IsSandbox": False,
        },
    )
    for key, attr in (
        ("daily_api_limit", "api_limit"),
        ("api_used", "api_used"),
        ("query_batch_size", "query_batch_size"),
    ):
        if key in section:
            value = section[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key != "api_used" else 0):
                raise _fail(key, f"must be a positive whole number; got {value!r}")
            setattr(org, attr, value)
    org.reserved_usernames = {str(u).lower() for u in section.get("reserved_usernames") or []}
    _licences(org, section)
    _profiles_roles_sets(org, section)
    _users(org, section)
    _apps(org, section)
    rules.recount(org)
    return org


def _licences(org: Org, section: dict[str, Any]) -> None:
    for i, item in enumerate(_items(section, "user_licenses", DEFAULT_LICENCES)):
        name = _need(item, "name", f"user_licenses[{i}]")
        org.store.put(
            "UserLicense",
            {
                "Name": name,
                "MasterLabel": name,
                "Status": "Active",
                "LicenseDefinitionKey": item.get("key", name.upper().replace(" ", "_")),
                "TotalLicenses": int(item.get("total", 10)),
                "UsedLicenses": 0,
            },
        )
    for i, item in enumerate(_items(section, "permission_set_licenses", DEFAULT_PSLS)):
        name = _need(item, "name", f"permission_set_licenses[{i}]")
        psl = org.store.put(
            "PermissionSetLicense",
            {
                "MasterLabel": name,
                "DeveloperName": name.replace(" ", ""),
                "Status": "Active",
                "PermissionSetLicenseKey": name.replace(" ", ""),
                "TotalLicenses": int(item.get("total", 10)),
                "UsedLicenses": 0,
            },
        )
        for lic in item.get("user_licenses") or []:
            _lookup(org, "UserLicense", "Name", lic, f"permission_set_licenses[{i}].user_licenses")
        org.psl_user_licences[psl["Id"]] = list(item.get("user_licenses") or [])


def _profiles_roles_sets(org: Org, section: dict[str, Any]) -> None:
    for i, item in enumerate(_items(section, "profiles", DEFAULT_PROFILES)):
        where = f"profiles[{i}]"
        lic = _lookup(org, "UserLicense", "Name", _need(item, "license", where), f"{where}.license")
        profile = org.store.put(
            "Profile",
            {
                "Name": _need(item, "name", where),
                "UserLicenseId": lic,
                "UserType": "Standard",
                "PermissionsApiEnabled": bool(item.get("api_enabled", True)),
                "PermissionsApiUserOnly": bool(item.get("api_only", False)),
                "PermissionsManageUsers": bool(item.get("manage_users", False)),
                # an administrator's profile (Manage Users) has Customize Application unless told otherwise
                "PermissionsCustomizeApplication": bool(
                    item.get("customize_application", item.get("manage_users", False))
                ),
                "Description": item.get("description"),
                "_custom": bool(item.get("custom", False)),
                "_userPermissions": {
                    p: True for p in item.get("permissions", DEFAULT_PERMISSIONS.get(item["name"], []))
                },
            },
        )
        if item.get("approve_uninstalled_connected_apps", profile["PermissionsCustomizeApplication"]):
            org.uninstalled_approvers.add(profile["Id"])
        org.store.put(
            "PermissionSet",
            {
                "Name": "X" + profile["Id"],
                "Label": profile["Id"],
                "IsOwnedByProfile": True,
                "ProfileId": profile["Id"],
                "PermissionsApiEnabled": item.get("api_enabled"),
            },
        )
    for i, item in enumerate(_items(section, "roles")):
        parent = item.get("parent")
        org.store.put(
            "UserRole",
            {
                "Name": _need(item, "name", f"roles[{i}]"),
                "DeveloperName": str(item["name"]).replace(" ", "_"),
                "ParentRoleId": _lookup(org, "UserRole", "Name", parent, f"roles[{i}].parent") if parent else None,
            },
        )
    for i, item in enumerate(_items(section, "permission_sets")):
        where = f"permission_sets[{i}]"
        ps_lic = item.get("license")
        org.store.put(
            "PermissionSet",
            {
                "Name": _need(item, "name", where),
                "Label": item.get("label", item["name"]),
                "IsOwnedByProfile": False,
                "LicenseId": _lookup(org, "PermissionSetLicense", "MasterLabel", ps_lic, f"{where}.license")
                if ps_lic
                else None,
                "PermissionsApiEnabled": bool(item.get("api_enabled", True)),
                "PermissionsCustomizeApplication": bool(item.get("customize_application", False)),
            },
        )


def _users(org: Org, section: dict[str, Any]) -> None:
    for i, item in enumerate(_items(section, "users")):
        where = f"users[{i}]"
        username = str(_need(item, "username", where))
        if org.user_by_username(username):
            raise _fail(f"{where}.username", f"{username!r} appears twice; usernames are unique")
        role = item.get("role")
        values = {
            **USER_DEFAULTS,
            "Username": username,
            "Email": item.get("email", username),
            "FirstName": item.get("first_name"),
            "LastName": _need(item, "last_name", where),
            "Alias": str(item.get("alias") or username.split("@")[0])[:8],
            "IsActive": bool(item.get("active", True)),
            "ProfileId": _lookup(org, "Profile", "Name", _need(item, "profile", where), f"{where}.profile"),
            "UserRoleId": _lookup(org, "UserRole", "Name", role, f"{where}.role") if role else None,
            "Title": item.get("title"),
            "Department": item.get("department"),
        }
        if item.get("time_zone"):
            values["TimeZoneSidKey"] = item["time_zone"]
        try:
            user = org.seed_user(
                values,
                password=str(item.get("password", "")),
                security_token=str(item.get("security_token") or new_security_token()),
                verified=bool(item.get("email_verified", True)),
            )
        except Exception as exc:  # SfError: licence or username rules
            raise _fail(where, str(exc)) from exc
        for j, name in enumerate(item.get("permission_set_licenses") or []):
            psl = _lookup(org, "PermissionSetLicense", "MasterLabel", name, f"{where}.permission_set_licenses[{j}]")
            org.store.put("PermissionSetLicenseAssign", {"AssigneeId": user["Id"], "PermissionSetLicenseId": psl})
        for j, name in enumerate(item.get("permission_sets") or []):
            ps = _lookup(org, "PermissionSet", "Name", name, f"{where}.permission_sets[{j}]")
            org.store.put("PermissionSetAssignment", {"AssigneeId": user["Id"], "PermissionSetId": ps})


def _apps(org: Org, section: dict[str, Any]) -> None:
    for i, item in enumerate(_items(section, "connected_apps")):
        where = f"connected_apps[{i}]"
        uris = item.get("redirect_uris") or []
        if not isinstance(uris, list):
            raise _fail(f"{where}.redirect_uris", "must be a list of callback URLs")
        run_as = item.get("run_as")
        if run_as and org.user_by_username(str(run_as)) is None:
            raise _fail(f"{where}.run_as", f"no user {run_as!r}")
        org.register_connected_app(
            str(_need(item, "name", where)),
            str(_need(item, "client_id", where)),
            str(_need(item, "client_secret", where)),
            [str(u) for u in uris],
            scopes=list(item.get("scopes") or ["api", "refresh_token"]),
            rotate_refresh_tokens=bool(item.get("rotate_refresh_tokens", False)),
            allow_loopback_redirects=bool(item.get("allow_loopback_redirects", False)),
            require_secret=bool(item.get("require_secret", True)),
            run_as=run_as,
            installed=bool(item.get("installed", True)),
            admin_approved_only=_permitted_users(item, where),
            certificate=item.get("certificate"),
        )
        _app_access(org, item, where)
    for i, item in enumerate(_items(section, "oauth_tokens")):
        if item.get("count") is not None and (not isinstance(item["count"], int) or item["count"] < 1):
            raise _fail(f"oauth_tokens[{i}].count", f"must be a positive whole number; got {item['count']!r}")
        where = f"oauth_tokens[{i}]"
        try:
            for _ in range(int(item.get("count") or 1)):
                org.grant(str(_need(item, "app", where)), str(_need(item, "user", where)))
        except KeyError as exc:
            raise _fail(where, str(exc)) from exc


def _permitted_users(item: dict[str, Any], where: str) -> bool:
    value = item.get("permitted_users", "all")
    if value not in ("all", "admin_approved"):
        raise _fail(
            f"{where}.permitted_users", f"must be 'all' (users may self-authorize) or 'admin_approved'; got {value!r}"
        )
    if value == "admin_approved" and not item.get("installed", True):
        raise _fail(f"{where}.permitted_users", "only an installed app has policies; set installed: true")
    return bool(value == "admin_approved")


def _app_access(org: Org, item: dict[str, Any], where: str) -> None:
    """SetupEntityAccess rows: the profiles and permission sets the scenario grants the app to."""
    app = org.connected_app(str(item["name"]))
    assert app is not None
    parents: list[str] = []
    for j, name in enumerate(item.get("profiles") or []):
        profile = _lookup(org, "Profile", "Name", name, f"{where}.profiles[{j}]")
        owned = org.store.first("PermissionSet", ProfileId=profile, IsOwnedByProfile=True)
        assert owned is not None
        parents.append(owned["Id"])
    for j, name in enumerate(item.get("permission_sets") or []):
        parents.append(_lookup(org, "PermissionSet", "Name", name, f"{where}.permission_sets[{j}]"))
    if parents and not app.installed:
        raise _fail(where, "an app that is not installed cannot be granted to profiles or permission sets")
    for parent in parents:
        org.store.put(
            "SetupEntityAccess",
            {"ParentId": parent, "SetupEntityId": app.id, "SetupEntityType": "ConnectedApplication"},
        )
