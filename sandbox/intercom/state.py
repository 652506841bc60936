"""Intercom's state: the workspace ("app"), its admins, OAuth clients and tokens, and the Jira app's install.

Python API: ``workspace(world)`` (a ``Workspace``); ``app_user(world)`` -> the Jira account the installed
"Jira Cloud for Intercom" app runs as (``{"account_id", "email", "name"}``) or None when not installed.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sandbox.jira.state import SeedError, _check_keys, _req
from sandbox.world import World

VENDOR_KEY = "intercom"


@dataclass
class Admin:
    id: str
    name: str
    email: str
    password: str = ""
    job_title: str = ""
    has_inbox_seat: bool = True


@dataclass
class OAuthClient:
    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    allow_loopback: bool = False

    def redirect_allowed(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        parts = urlsplit(uri)
        return self.allow_loopback and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


@dataclass
class AccessToken:
    token: str
    admin_id: str
    client_id: str
    active: bool = True


@dataclass
class JiraApp:
    """The "Jira Cloud for Intercom" app as installed in this workspace."""

    jira_url: str
    client_id: str  # the app's 3LO client at Atlassian
    client_secret: str
    installed: bool = False
    installed_by: str = ""  # Intercom admin id
    installed_at: int = 0
    app_user: dict[str, str] = field(default_factory=dict)  # the Jira account: account_id, email, name
    jira_access_token: str = ""
    jira_refresh_token: str = ""
    intercom_token: str = ""  # the app's own Intercom access token (revoked on uninstall)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Workspace:
    id_code: str
    name: str
    region: str
    timezone: str
    created_at: int
    admins: dict[str, Admin] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # code -> (client_id, admin_id, redirect)
    sessions: dict[str, str] = field(default_factory=dict)  # cookie -> admin id
    pending: dict[str, dict[str, str]] = field(default_factory=dict)  # state/request id -> context
    jira_app: JiraApp | None = None

    def admin_by_email(self, email: str) -> Admin | None:
        return next((a for a in self.admins.values() if a.email.lower() == email.lower()), None)

    def issue_token(self, admin_id: str, client_id: str) -> str:
        token = "dG9r" + secrets.token_urlsafe(40)
        self.tokens[token] = AccessToken(token, admin_id, client_id)
        return token

    def admin_for_token(self, token: str) -> Admin | None:
        found = self.tokens.get(token)
        return self.admins.get(found.admin_id) if found is not None and found.active else None


def workspace(world: World) -> Workspace:
    state = world.vendors.get(VENDOR_KEY)
    if not isinstance(state, Workspace):
        raise LookupError("the Intercom stand-in is not seeded (scenario section 'intercom')")
    return state


def app_user(world: World) -> dict[str, str] | None:
    with world.lock:
        app = workspace(world).jira_app
        return dict(app.app_user) if app is not None and app.installed else None


def seed_workspace(world: World, section: dict[str, Any]) -> Workspace:
    section = _check_keys(section, {"workspace", "admins", "oauth_apps", "access_tokens", "jira_app"}, "intercom")
    ws = _check_keys(
        _req(section, "workspace", "intercom"),
        {"id_code", "name", "region", "timezone", "created_at"},
        "intercom.workspace",
    )
    state = Workspace(
        str(_req(ws, "id_code", "intercom.workspace")),
        str(_req(ws, "name", "intercom.workspace")),
        str(ws.get("region", "US")),
        str(ws.get("timezone", "Europe/London")),
        int(ws.get("created_at", 1672531200)),
    )
    for i, a in enumerate(section.get("admins") or []):
        w = f"intercom.admins[{i}]"
        a = _check_keys(a, {"id", "name", "email", "password", "job_title", "has_inbox_seat"}, w)
        admin = Admin(
            str(_req(a, "id", w)),
            str(_req(a, "name", w)),
            str(_req(a, "email", w)),
            str(a.get("password", "")),
            str(a.get("job_title", "")),
            bool(a.get("has_inbox_seat", True)),
        )
        state.admins[admin.id] = admin
    for i, c in enumerate(section.get("oauth_apps") or []):
        w = f"intercom.oauth_apps[{i}]"
        c = _check_keys(c, {"name", "client_id", "client_secret", "redirect_uris", "allow_loopback"}, w)
        client = OAuthClient(
            str(_req(c, "name", w)),
            str(_req(c, "client_id", w)),
            str(_req(c, "client_secret", w)),
            [str(u) for u in c.get("redirect_uris") or []],
            bool(c.get("allow_loopback", False)),
        )
        state.clients[client.client_id] = client
    for i, t in enumerate(section.get("access_tokens") or []):
        w = f"intercom.access_tokens[{i}]"
        t = _check_keys(t, {"token", "admin_id", "client_id"}, w)
        admin_id = str(_req(t, "admin_id", w))
        if admin_id not in state.admins:
            raise SeedError(f"{w}.admin_id: unknown admin {admin_id!r}")
        state.tokens[str(_req(t, "token", w))] = AccessToken(str(t["token"]), admin_id, str(t.get("client_id", "")))
    if section.get("jira_app"):
        state.jira_app = _seed_jira_app(world, state, section["jira_app"])
    return state


def _seed_jira_app(world: World, state: Workspace, data: Any) -> JiraApp:
    w = "intercom.jira_app"
    data = _check_keys(data, {"jira_url", "client_id", "client_secret", "installed", "installed_by", "app_user"}, w)
    app = JiraApp(str(_req(data, "jira_url", w)), str(_req(data, "client_id", w)), str(_req(data, "client_secret", w)))
    if not data.get("installed", False):
        return app
    installer = str(_req(data, "installed_by", w))
    if installer not in state.admins:
        raise SeedError(f"{w}.installed_by: unknown Intercom admin id {installer!r}")
    email = str(_req(data, "app_user", w))
    from sandbox.jira.state import site

    try:
        jira = site(world)
    except LookupError as exc:
        raise SeedError(f"{w}.app_user needs the 'jira' section seeded first") from exc
    user = jira.user_by_email(email)
    if user is None:
        raise SeedError(f"{w}.app_user: no Jira user with email {email!r} in jira.users")
    scopes = ["read:jira-user", "read:jira-work", "write:jira-work", "offline_access"]
    access, refresh = jira.issue_tokens(app.client_id, user.account_id, scopes)
    app.installed, app.installed_by, app.installed_at = True, installer, int(time.time())
    app.app_user = {"account_id": user.account_id, "email": user.email, "name": user.display_name}
    app.jira_access_token, app.jira_refresh_token = access.token, refresh.token if refresh else ""
    app.intercom_token = state.issue_token(installer, "jira-cloud-for-intercom")
    return app
