"""What the audit reads from Salesforce, in a handful of queries whatever the catalog's size: every user with
their profile and licence, who is frozen, every OauthToken row (Baton's admin has Customize Application, so
it sees all users' tokens), the LoginHistory of the users asked about, and the login IP ranges of their
profiles (Metadata API ``readMetadata``). Reads only: nothing here changes the org."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from clients.salesforce import SalesforceClient, soql_quote
from clients.salesforce_metadata import MetadataClient, profile_full_name

# Licences and profiles meant for integrations, not people (the guides' dedicated integration users).
INTEGRATION_LICENCES = {"Salesforce Integration", "Salesforce API Only"}
IN_CHUNK = 200  # ids per ``IN (...)``, so the SOQL stays well under Salesforce's 100,000-character limit


@dataclass(frozen=True)
class OrgUser:
    id: str
    username: str
    active: bool
    frozen: bool
    profile: str
    licence: str
    api_only: bool

    @property
    def dedicated(self) -> bool:
        """An integration user (integration licence or an API-only profile), not a normal licence holder."""
        return self.licence in INTEGRATION_LICENCES or self.api_only


@dataclass(frozen=True)
class Token:
    """One OauthToken row (its Id is reserved, always null: a row is its app, its user and its dates)."""

    app_name: str
    user_id: str
    created: str
    last_used: str
    use_count: int


@dataclass(frozen=True)
class Login:
    user_id: str
    time: str
    login_type: str
    source_ip: str
    status: str
    application: str
    api_type: str


@dataclass
class OrgSnapshot:
    users: dict[str, OrgUser] = field(default_factory=dict)  # by Id
    tokens: list[Token] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)
    ip_ranges: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # profile name -> ranges

    def by_username(self, username: str) -> OrgUser | None:
        wanted = username.lower()
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "users": {k: asdict(v) for k, v in self.users.items()},
            "tokens": [asdict(t) for t in self.tokens],
            "logins": [asdict(x) for x in self.logins],
            "ip_ranges": {k: [list(r) for r in v] for k, v in self.ip_ranges.items()},
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> OrgSnapshot:
        return cls(
            users={k: OrgUser(**v) for k, v in data.get("users", {}).items()},
            tokens=[Token(**t) for t in data.get("tokens", [])],
            logins=[Login(**x) for x in data.get("logins", [])],
            ip_ranges={k: [(str(a), str(b)) for a, b in v] for k, v in data.get("ip_ranges", {}).items()},
        )


def _s(row: dict[str, Any], key: str) -> str:
    return str(row.get(key) or "")


def users(sf: SalesforceClient) -> dict[str, OrgUser]:
    """``User`` (with ``Profile.Name``), ``Profile``, ``UserLicense`` and ``UserLogin``: four queries."""
    licences = {_s(r, "Id"): _s(r, "Name") for r in sf.query("SELECT Id, Name FROM UserLicense")}
    profiles = {
        _s(r, "Id"): (licences.get(_s(r, "UserLicenseId"), ""), bool(r.get("PermissionsApiUserOnly")))
        for r in sf.query("SELECT Id, Name, UserLicenseId, PermissionsApiUserOnly FROM Profile")
    }
    frozen = {_s(r, "UserId") for r in sf.query("SELECT UserId, IsFrozen FROM UserLogin WHERE IsFrozen = true")}
    found: dict[str, OrgUser] = {}
    for row in sf.query("SELECT Id, Username, IsActive, ProfileId, Profile.Name FROM User"):
        licence, api_only = profiles.get(_s(row, "ProfileId"), ("", False))
        profile = row.get("Profile") or {}
        found[_s(row, "Id")] = OrgUser(
            id=_s(row, "Id"), username=_s(row, "Username"), active=bool(row.get("IsActive")),
            frozen=_s(row, "Id") in frozen, profile=str(profile.get("Name") or "") if isinstance(profile, dict) else "",
            licence=licence, api_only=api_only,
        )  # fmt: skip
    return found


def tokens(sf: SalesforceClient) -> list[Token]:
    """Every OauthToken row the admin sees (all users': Customize Application), oldest first."""
    rows = sf.query("SELECT AppName, UserId, CreatedDate, LastUsedDate, UseCount FROM OauthToken ORDER BY CreatedDate")
    return [
        Token(
            _s(r, "AppName"), _s(r, "UserId"), _s(r, "CreatedDate"), _s(r, "LastUsedDate"), int(r.get("UseCount") or 0)
        )
        for r in rows
    ]


def logins(sf: SalesforceClient, user_ids: list[str]) -> list[Login]:
    """LoginHistory of *user_ids* (``WHERE UserId IN (...)``, in chunks)."""
    fields = "UserId, LoginTime, LoginType, SourceIp, Status, Application, ApiType"
    found: list[Login] = []
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), IN_CHUNK):
        listed = ", ".join(soql_quote(i) for i in ids[start : start + IN_CHUNK])
        soql = f"SELECT {fields} FROM LoginHistory WHERE UserId IN ({listed}) ORDER BY LoginTime"  # noqa: S608
        for r in sf.query(soql):
            found.append(Login(_s(r, "UserId"), _s(r, "LoginTime"), _s(r, "LoginType"), _s(r, "SourceIp"),
                               _s(r, "Status"), _s(r, "Application"), _s(r, "ApiType")))  # fmt: skip
    return found


def login_ip_ranges(md: MetadataClient, profile_names: list[str]) -> dict[str, list[tuple[str, str]]]:
    """``readMetadata`` Profile for each name: its ``loginIpRanges`` as (start, end); [] when it has none."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(set(profile_names)):
        profile = md.read("Profile", profile_full_name(name)) or {}
        ranges = profile.get("loginIpRanges") or []
        out[name] = [(str(r["startAddress"]), str(r["endAddress"])) for r in ranges if isinstance(r, dict)]
    return out
