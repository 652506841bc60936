"""Jira Cloud's state: the site, its users and groups, API tokens, OAuth 2.0 (3LO) apps and grants.

Read it from Python with ``site(world)`` (a ``JiraCloud``); e.g. ``site(world).user_by_email("alice@acme.example")``
or ``site(world).app_user("Jira Cloud for Intercom")`` (the Jira account that last authorized that app).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.world import World

VENDOR_KEY = "jira"
ADMIN_GROUPS = frozenset({"jira-administrators", "site-admins"})


class SeedError(ValueError):
    """A scenario section that cannot be seeded; the message names the key."""


@dataclass
class ApiToken:
    id: str
    label: str
    token: str
    created_at: str = "2024-01-15T09:00:00.000Z"
    last_access: str | None = None


@dataclass
class JiraUser:
    account_id: str
    email: str
    display_name: str
    password: str = ""
    active: bool = True
    account_type: str = "atlassian"
    groups: set[str] = field(default_factory=set)
    api_tokens: list[ApiToken] = field(default_factory=list)
    time_zone: str = "Europe/London"
    locale: str = "en_US"


@dataclass
class JiraGroup:
    name: str
    group_id: str


@dataclass
class OAuthApp:
    """An OAuth 2.0 (3LO) integration registered in the developer console."""

    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    allow_loopback: bool = False  # any http://127.0.0.1:<port>/<path> or localhost, for a gateway on a free port

    def redirect_allowed(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        if not self.allow_loopback:
            return False
        from urllib.parse import urlsplit

        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


@dataclass
class Grant:
    """A user's consent to a 3LO app (revocable only in the UI)."""

    client_id: str
    account_id: str
    scopes: list[str]
    granted_at: float = field(default_factory=time.time)
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    account_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float


@dataclass
class Token:
    token: str
    client_id: str
    account_id: str
    scopes: list[str]
    expires_at: float
    active: bool = True


@dataclass
class JiraCloud:
    site_name: str
    cloud_id: str
    org_id: str
    site_url: str
    users: dict[str, JiraUser] = field(default_factory=dict)
    groups: dict[str, JiraGroup] = field(default_factory=dict)
    apps: dict[str, OAuthApp] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, Token] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # browser session cookie -> accountId
    pending: dict[str, dict[str, str]] = field(default_factory=dict)  # consent-page request id -> authorize params
    org_api_keys: list[str] = field(default_factory=list)
    disabled_log: list[dict[str, str]] = field(default_factory=list)

    # -- reading --------------------------------------------------------------------------------
    def user_by_email(self, email: str) -> JiraUser | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    def group(self, name: str | None = None, group_id: str | None = None) -> JiraGroup | None:
        if name is not None:
            return self.groups.get(name)
        return next((g for g in self.groups.values() if g.group_id == group_id), None)

    def is_admin(self, user: JiraUser) -> bool:
        return bool(user.groups & ADMIN_GROUPS)

    def app_by_name(self, name: str) -> OAuthApp | None:
        return next((a for a in self.apps.values() if a.name == name), None)

    def app_user(self, app_name: str) -> JiraUser | None:
        """The Jira account that most recently authorized the named 3LO app (and has not been revoked)."""
        app = self.app_by_name(app_name)
        if app is None:
            return None
        live = [g for g in self.grants if g.client_id == app.client_id and not g.revoked]
        return self.users.get(live[-1].account_id) if live else None

    # -- tokens ---------------------------------------------------------------------------------
    def issue_tokens(self, client_id: str, account_id: str, scopes: list[str]) -> tuple[Token, Token | None]:
        access = Token("eyJ" + secrets.token_urlsafe(32), client_id, account_id, scopes, time.time() + 3600)
        self.access_tokens[access.token] = access
        refresh = None
        if "offline_access" in scopes:
            refresh = Token("rt-" + secrets.token_urlsafe(32), client_id, account_id, scopes, time.time() + 90 * 86400)
            self.refresh_tokens[refresh.token] = refresh
        return access, refresh

    def bearer(self, token: str) -> Token | None:
        found = self.access_tokens.get(token)
        if found is None or not found.active or found.expires_at < time.time():
            return None
        return found

    def revoke_app_tokens(self, client_id: str, account_id: str | None = None) -> None:
        for tok in [*self.access_tokens.values(), *self.refresh_tokens.values()]:
            if tok.client_id == client_id and (account_id is None or tok.account_id == account_id):
                tok.active = False
        for grant in self.grants:
            if grant.client_id == client_id and (account_id is None or grant.account_id == account_id):
                grant.revoked = True


def site(world: World) -> JiraCloud:
    state = world.vendors.get(VENDOR_KEY)
    if not isinstance(state, JiraCloud):
        raise LookupError("the Jira Cloud stand-in is not seeded (scenario section 'jira')")
    return state


# -- seeding ---------------------------------------------------------------------------------------
def _req(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise SeedError(f"{where}: '{key}' is required")
    return data[key]


def _check_keys(data: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SeedError(f"{where} must be a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SeedError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return data


def seed_cloud(world: World, section: dict[str, Any]) -> JiraCloud:
    where = "jira"
    allowed = {"site", "cloud_id", "org_id", "org_api_keys", "users", "groups", "oauth_apps", "salesforce_connector"}
    section = _check_keys(section, allowed | {"projects"}, where)
    cloud_id = str(_req(section, "cloud_id", where))
    try:
        uuid.UUID(cloud_id)
    except ValueError as exc:
        raise SeedError(f"jira.cloud_id must be a UUID; got {cloud_id!r}") from exc
    state = JiraCloud(
        site_name=str(_req(section, "site", where)),
        cloud_id=cloud_id,
        org_id=str(section.get("org_id") or uuid.uuid4()),
        site_url=world.urls.get("jira", ""),
        org_api_keys=[str(k) for k in section.get("org_api_keys") or []],
    )
    for i, g in enumerate(section.get("groups") or []):
        g = _check_keys(g, {"name", "id"}, f"jira.groups[{i}]")
        name = str(_req(g, "name", f"jira.groups[{i}]"))
        state.groups[name] = JiraGroup(name, str(g.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, name)))
    for i, u in enumerate(section.get("users") or []):
        w = f"jira.users[{i}]"
        u = _check_keys(
            u, {"account_id", "email", "name", "password", "active", "groups", "api_tokens", "account_type"}, w
        )
        user = JiraUser(
            account_id=str(_req(u, "account_id", w)),
            email=str(_req(u, "email", w)),
            display_name=str(_req(u, "name", w)),
            password=str(u.get("password", "")),
            active=bool(u.get("active", True)),
            account_type=str(u.get("account_type", "atlassian")),
        )
        for gname in u.get("groups") or []:
            if gname not in state.groups:
                raise SeedError(f"{w}.groups: unknown group {gname!r}; declare it under jira.groups")
            user.groups.add(str(gname))
        for j, t in enumerate(u.get("api_tokens") or []):
            t = _check_keys(t, {"id", "label", "token", "created_at"}, f"{w}.api_tokens[{j}]")
            user.api_tokens.append(
                ApiToken(
                    str(t.get("id") or uuid.uuid4()),
                    str(t.get("label", "token")),
                    str(_req(t, "token", f"{w}.api_tokens[{j}]")),
                    str(t.get("created_at", "2024-01-15T09:00:00.000Z")),
                )
            )
        state.users[user.account_id] = user
    for i, a in enumerate(section.get("oauth_apps") or []):
        w = f"jira.oauth_apps[{i}]"
        a = _check_keys(a, {"name", "client_id", "client_secret", "redirect_uris", "allow_loopback", "grants"}, w)
        app = OAuthApp(
            str(_req(a, "name", w)),
            str(_req(a, "client_id", w)),
            str(_req(a, "client_secret", w)),
            [str(r) for r in a.get("redirect_uris") or []],
            bool(a.get("allow_loopback", False)),
        )
        state.apps[app.client_id] = app
        for j, g in enumerate(a.get("grants") or []):
            g = _check_keys(g, {"account_id", "scopes"}, f"{w}.grants[{j}]")
            acc = str(_req(g, "account_id", f"{w}.grants[{j}]"))
            if acc not in state.users:
                raise SeedError(f"{w}.grants[{j}].account_id: unknown user {acc!r}")
            scopes = [str(s) for s in g.get("scopes") or ["read:jira-user", "read:jira-work", "offline_access"]]
            state.grants.append(Grant(app.client_id, acc, scopes))
            state.issue_tokens(app.client_id, acc, scopes)
    return state
