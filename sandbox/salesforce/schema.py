"""The objects the stand-in knows, with their fields (what describe reports and SOQL checks)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"  # id, string, email, boolean, int, reference, datetime, picklist, textarea
    create: bool = True
    update: bool = True
    required: bool = False
    ref: str | None = None  # the object a reference field points to
    rel: str | None = None  # relationship name for SOQL, e.g. Profile for ProfileId
    length: int = 255


@dataclass(frozen=True)
class SObject:
    name: str
    label: str
    fields: tuple[Field, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    label_plural: str = ""
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)
    relationships: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name.lower(): f for f in self.fields})
        object.__setattr__(self, "relationships", {f.rel.lower(): f for f in self.fields if f.rel})

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name.lower())


def _ro(name: str, type_: str = "string", **kw: object) -> Field:
    return Field(name, type_, create=False, update=False, **kw)  # type: ignore[arg-type]


_AUDIT = (
    Field("Id", "id", create=False, update=False, length=18),
    _ro("CreatedDate", "datetime"),
    _ro("LastModifiedDate", "datetime"),
)

OBJECTS: dict[str, SObject] = {
    o.name.lower(): o
    for o in (
        SObject(
            "Organization",
            "Organization",
            (*_AUDIT, _ro("Name"), _ro("OrganizationType"), _ro("InstanceName"), _ro("IsSandbox", "boolean")),
            createable=False,
            updateable=False,
            deletable=False,
        ),
        SObject(
            "User",
            "User",
            (
                *_AUDIT,
                Field("Username", "string", required=True, length=80),
                Field("Email", "email", required=True, length=128),
                Field("FirstName", length=40),
                Field("LastName", required=True, length=80),
                _ro("Name", length=121),
                Field("Alias", required=True, length=8),
                Field("CommunityNickname", length=40),
                Field("Title", length=80),
                Field("Department", length=80),
                Field("CompanyName", length=80),
                Field("ProfileId", "reference", required=True, ref="Profile", rel="Profile", length=18),
                Field("UserRoleId", "reference", ref="UserRole", rel="UserRole", length=18),
                Field("IsActive", "boolean"),
                Field("TimeZoneSidKey", "picklist", required=True, length=40),
                Field("LocaleSidKey", "picklist", required=True, length=40),
                Field("EmailEncodingKey", "picklist", required=True, length=40),
                Field("LanguageLocaleKey", "picklist", required=True, length=40),
                _ro("UserType", "picklist"),
                _ro("LastLoginDate", "datetime"),
            ),
            deletable=False,
        ),
        SObject(
            "Profile",
            "Profile",
            (
                *_AUDIT,
                Field("Name", required=True),
                Field("Description", "textarea"),
                Field(
                    "UserLicenseId",
                    "reference",
                    required=True,
                    update=False,
                    ref="UserLicense",
                    rel="UserLicense",
                    length=18,
                ),
                _ro("UserType", "picklist"),
                Field("PermissionsApiEnabled", "boolean"),
                Field("PermissionsApiUserOnly", "boolean"),
                Field("PermissionsManageUsers", "boolean"),
                Field("PermissionsCustomizeApplication", "boolean"),
            ),
        ),
        SObject(
            "UserLicense",
            "User License",
            (
                *_AUDIT,
                _ro("Name"),
                _ro("MasterLabel"),
                _ro("LicenseDefinitionKey"),
                _ro("Status", "picklist"),
                _ro("TotalLicenses", "int"),
                _ro("UsedLicenses", "int"),
            ),
            createable=False,
            updateable=False,
            deletable=False,
        ),
        SObject(
            "PermissionSetLicense",
            "Permission Set License",
            (
                *_AUDIT,
                _ro("MasterLabel"),
                _ro("DeveloperName"),
                _ro("PermissionSetLicenseKey"),
                _ro("Status", "picklist"),
                _ro("TotalLicenses", "int"),
                _ro("UsedLicenses", "int"),
            ),
            createable=False,
            updateable=False,
            deletable=False,
        ),
        SObject(
            "PermissionSetLicenseAssign",
            "Permission Set License Assignment",
            (
                *_AUDIT,
                Field("AssigneeId", "reference", required=True, update=False, ref="User", rel="Assignee", length=18),
                Field(
                    "PermissionSetLicenseId",
                    "reference",
                    required=True,
                    update=False,
                    ref="PermissionSetLicense",
                    rel="PermissionSetLicense",
                    length=18,
                ),
            ),
            updateable=False,
        ),
        SObject(
            "PermissionSet",
            "Permission Set",
            (
                *_AUDIT,
                Field("Name", required=True, length=80),
                Field("Label", required=True, length=80),
                Field("Description", "textarea"),
                Field("LicenseId", "reference", update=False, ref="PermissionSetLicense", rel="License", length=18),
                _ro("IsOwnedByProfile", "boolean"),
                _ro("ProfileId", "reference", ref="Profile", rel="Profile", length=18),
                Field("PermissionsApiEnabled", "boolean"),
                Field("PermissionsCustomizeApplication", "boolean"),
            ),
        ),
        SObject(
            "PermissionSetAssignment",
            "Permission Set Assignment",
            (
                *_AUDIT,
                Field("AssigneeId", "reference", required=True, update=False, ref="User", rel="Assignee", length=18),
                Field(
                    "PermissionSetId",
                    "reference",
                    required=True,
                    update=False,
                    ref="PermissionSet",
                    rel="PermissionSet",
                    length=18,
                ),
            ),
            updateable=False,
        ),
        SObject(
            "UserRole",
            "Role",
            (
                *_AUDIT,
                Field("Name", required=True, length=80),
                Field("DeveloperName", length=80),
                Field("ParentRoleId", "reference", ref="UserRole", rel="ParentRole", length=18),
            ),
        ),
        SObject(
            "UserLogin",
            "User Login",
            (
                *_AUDIT,
                _ro("UserId", "reference", ref="User", rel="User", length=18),
                Field("IsFrozen", "boolean", create=False),
                Field("IsPasswordLocked", "boolean", create=False),
            ),
            createable=False,
            deletable=False,
        ),
        SObject(
            "LoginHistory",
            "Login History",
            (
                Field("Id", "id", create=False, update=False, length=18),
                _ro("UserId", "reference", ref="User", rel="User", length=18),
                _ro("LoginTime", "datetime"),
                _ro("LoginType", "picklist"),
                _ro("SourceIp"),
                _ro("Status"),
                _ro("Application"),
                _ro("ApiType"),
                _ro("LoginUrl"),
                _ro("Platform"),
                _ro("Browser"),
            ),
            createable=False,
            updateable=False,
            deletable=False,
        ),
        SObject(
            "OauthToken",
            "OAuth Token",
            (
                *_AUDIT,
                _ro("AppName"),
                _ro("AppMenuItemId", "reference", length=18),
                _ro("UserId", "reference", ref="User", rel="User", length=18),
                _ro("DeleteToken"),
                _ro("LastUsedDate", "datetime"),
                _ro("UseCount", "int"),
                _ro("RequestToken"),
            ),
            createable=False,
            updateable=False,
            deletable=False,
        ),
        SObject(
            "ConnectedApplication",
            "Connected App",
            (
                *_AUDIT,
                _ro("Name", length=80),
                _ro("OptionsAllowAdminApprovedUsersOnly", "boolean"),
                _ro("OptionsIsInternal", "boolean"),
                _ro("OptionsHasSessionLevelPolicy", "boolean"),
                _ro("OptionsRefreshTokenValidityMetric", "boolean"),
                _ro("RefreshTokenValidityPeriod", "int"),
                _ro("StartUrl", length=2400),
                _ro("MobileStartUrl", length=2400),
            ),
            createable=False,
            updateable=False,
            deletable=False,
        ),
        SObject(
            "SetupEntityAccess",
            "Setup Entity Access",
            (
                *_AUDIT,
                Field(
                    "ParentId", "reference", required=True, update=False, ref="PermissionSet", rel="Parent", length=18
                ),
                Field("SetupEntityId", "reference", required=True, update=False, length=18),
                _ro("SetupEntityType", "picklist"),
            ),
            updateable=False,
        ),
        SObject(
            "UserPermissionAccess",
            "User Permission Access",
            (
                Field("Id", "id", create=False, update=False, length=18),
                _ro("PermissionsApiEnabled", "boolean"),
                _ro("PermissionsManageUsers", "boolean"),
                _ro("PermissionsCustomizeApplication", "boolean"),
            ),
            createable=False,
            updateable=False,
            deletable=False,
        ),
    )
}


def sobject(name: str) -> SObject | None:
    return OBJECTS.get(name.lower())
