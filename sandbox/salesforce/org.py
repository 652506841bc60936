"""One Salesforce org: its records, its users' credentials and sessions, and the Python API other
stand-ins (the Jira connector, Jotform) use for cross-vendor flows.

Python API (``org = sandbox.salesforce.org_of(world)``):
    org.user_by_username(username) -> record | None
    org.authorized_user(app_name) -> user record | None   (latest OauthToken of that app)
    org.oauth_tokens_for(user_id) -> [OauthToken records]
    org.connected_app(name_or_client_id) -> ConnectedApp | None
    org.register_connected_app(...) -> ConnectedApp
    org.grant(app_name, username) -> refresh token    (an existing authorization, for seeding)
    org.whoami(access_token) -> user record | None
    org.email_verified(user_id) -> bool
    org.invalidate_sessions(user_id) -> int
    org.expire_sessions(kind=None) -> int             (every user's sessions end, as after the org's timeout)
    org.session_timeout = 3600.0 | None               (seconds of inactivity before a session ends; None: never)
    org.authorize_url(client_id, redirect_uri, state, code_challenge=None) -> str
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox.salesforce import apps, restrictions, rules
from sandbox.salesforce.auth import (
    AuthCode,
    ConnectedApp,
    Credential,
    RefreshToken,
    Session,
    new_refresh_token,
    new_security_token,
    new_session_token,
)
from sandbox.salesforce.errors import INVALID_LOGIN_MESSAGE, LoginFailed, SfError
from sandbox.salesforce.ids import IdFactory, normalize
from sandbox.salesforce.store import Record, Store, now_iso, spec_of
from sandbox.world import Mail, World

LOOPBACK = "127.0.0.1"
API_TYPES = {"Partner Product": "SOAP Partner", "Remote Access 2.0": "N/A", "Application": "N/A"}
TOKENS_PER_APP = 5  # per user and connected app; a sixth authorization revokes the oldest
MANAGED_BY_ADMINS = {
    "User",
    "Profile",
    "PermissionSet",
    "PermissionSetAssignment",
    "PermissionSetLicenseAssign",
    "UserRole",
    "UserLogin",
    "SetupEntityAccess",
}


class Org:
    """All state of the org. Callers hold ``world.lock`` around anything that changes it."""

    def __init__(self, world: World, *, org_id: str, name: str, base_url: str, ids: IdFactory) -> None:
        self.world = world
        self.org_id = org_id
        self.name = name
        self.base_url = base_url
        self.ids = ids
        self.store = Store(ids)
        self.credentials: dict[str, Credential] = {}
        self.sessions: dict[str, Session] = {}
        self.session_timeout: float | None = None  # seconds of inactivity (Setup > Session Settings > Timeout)
        self.sessions_expired = 0  # sessions ended by the timeout or expire_sessions, for tests' figures
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.apps: dict[str, ConnectedApp] = {}
        self.cursors: dict[str, list[Record]] = {}
        self.reserved_usernames: set[str] = set()
        self.psl_user_licences: dict[str, list[str]] = {}
        self.uninstalled_approvers: set[str] = set()  # profiles with "Approve Uninstalled Connected Apps"
        self.api_limit = 15000
        self.api_used = 0
        self.query_batch_size = 2000
        self._seq = itertools.count()
        self.time_zone = "UTC"  # the org's default time zone: login hours are in it
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    # -- API usage ------------------------------------------------------------------------
    def limit_info(self) -> str:
        return f"api-usage={self.api_used}/{self.api_limit}"

    def count_api_call(self) -> None:
        with self.world.lock:
            if self.api_used >= self.api_limit:
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_used += 1

    # -- lookups --------------------------------------------------------------------------
    def user(self, user_id: str | None) -> Record | None:
        return self.store.get("User", user_id)

    def user_by_username(self, username: str) -> Record | None:
        return next((u for u in self.store.all("User") if u["Username"].lower() == username.lower()), None)

    def profile_of(self, user: Record) -> Record:
        profile = self.store.get("Profile", user["ProfileId"])
        assert profile is not None
        return profile

    def api_enabled(self, user: Record) -> bool:
        return bool(self.profile_of(user)["PermissionsApiEnabled"])

    def frozen(self, user: Record) -> bool:
        login = self.store.first("UserLogin", UserId=user["Id"])
        return bool(login and login["IsFrozen"])

    def connected_app(self, key: str) -> ConnectedApp | None:
        return next((a for a in self.apps.values() if key in (a.name, a.client_id, a.id)), None)

    def email_verified(self, user_id: str) -> bool:
        cred = self.credentials.get(normalize(user_id) or "")
        return bool(cred and cred.email_verified)

    def identity_url(self, user_id: str) -> str:
        return f"{self.base_url}/id/{self.org_id}/{user_id}"

    # -- writes through the API -----------------------------------------------------------
    def _may_manage(self, actor: Record | None, name: str) -> None:
        if actor is not None and name in MANAGED_BY_ADMINS and not self.profile_of(actor).get("PermissionsManageUsers"):
            raise SfError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [])

    def create(self, name: str, body: Any, actor: Record | None = None) -> Record:
        spec = spec_of(name)
        if not spec.createable:
            raise SfError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,HEAD")
        values = self.store.clean(spec, body, creating=True)
        with self.world.lock:
            self._may_manage(actor, spec.name)
            rules.before_insert(self, spec.name, values)
            record = self.store.put(spec.name, values)
            if spec.name == "User":
                self._new_user(record)
            rules.recount(self)
            return record

    def update(self, name: str, record_id: str, body: Any, actor: Record | None = None) -> Record:
        spec = spec_of(name)
        record = self.store.require(spec.name, record_id)
        if not spec.updateable:
            raise SfError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,DELETE")
        changes = self.store.clean(spec, body, creating=False)
        with self.world.lock:
            self._may_manage(actor, spec.name)
            rules.before_update(self, spec.name, record, changes)
            record.update(changes)
            record["LastModifiedDate"] = now_iso()
            if spec.name == "User" and changes.get("IsActive") is False:
                self.invalidate_sessions(record["Id"])
            if spec.name == "UserLogin" and changes.get("IsFrozen"):
                self.invalidate_sessions(record["UserId"])
            rules.recount(self)
            return record

    def delete(self, name: str, record_id: str, actor: Record | None = None) -> None:
        spec = spec_of(name)
        record = self.store.require(spec.name, record_id)
        if not spec.deletable:
            raise SfError(400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted", [])
        with self.world.lock:
            self._may_manage(actor, spec.name)
            if spec.name == "Profile" and self.store.find("User", ProfileId=record["Id"]):
                raise SfError(400, "DELETE_FAILED", "Cannot delete a profile that is assigned to users.", [])
            if spec.name == "PermissionSet":
                for psa in self.store.find("PermissionSetAssignment", PermissionSetId=record["Id"]):
                    self.store.remove("PermissionSetAssignment", psa["Id"])
            self.store.remove(spec.name, record["Id"])
            rules.recount(self)

    def _new_user(self, user: Record) -> None:
        self.store.put("UserLogin", {"UserId": user["Id"], "IsFrozen": False, "IsPasswordLocked": False})
        cred = Credential(password="", security_token=new_security_token(), password_expired=True)
        self.credentials[user["Id"]] = cred
        link = f"{self.base_url}/verify?{urlencode({'u': user['Id'], 't': cred.verify_secret})}"
        self.world.send_mail(
            Mail(
                to=user["Email"],
                sender="noreply@salesforce.com",
                subject="Welcome to Salesforce: Verify your account",
                body=(
                    f"Welcome to Salesforce, {user['FirstName'] or user['LastName']}!\n\nYour username is "
                    f"{user['Username']}.\nClick the link below to verify your account:\n{link}\n"
                ),
                links=[link],
            )
        )

    def seed_user(self, values: Record, *, password: str, security_token: str, verified: bool = True) -> Record:
        with self.world.lock:
            values.setdefault("IsActive", True)
            rules.before_insert(self, "User", values)
            record = self.store.put("User", values)
            self.store.put("UserLogin", {"UserId": record["Id"], "IsFrozen": False, "IsPasswordLocked": False})
            self.credentials[record["Id"]] = Credential(password, security_token, email_verified=verified)
            rules.recount(self)
            return record

    # -- logins and sessions --------------------------------------------------------------
    def check_login(
        self,
        username: str,
        secret: str,
        *,
        kind: str,
        token_optional: bool = False,
        source_ip: str = LOOPBACK,
        app: str | None = None,
    ) -> Record:
        """The user whose password (+ security token unless *token_optional*) is *secret*, or LoginFailed."""
        with self.world.lock:
            user = self.user_by_username(username)
            cred = self.credentials.get(user["Id"]) if user else None
            ok = (
                cred is not None
                and bool(cred.password)
                and (secret == cred.password + cred.security_token or (token_optional and secret == cred.password))
            )
            refusal = self.restriction(user, source_ip) if user is not None and ok else None
            if user is not None:
                status = "Success" if ok and user["IsActive"] else "Invalid Password"
                status = restrictions.STATUS[refusal.code] if refusal else status
                self.log_login(user, kind, status, app=app, source_ip=source_ip)
            if user is None or cred is None or not ok or not user["IsActive"] or self.frozen(user):
                raise LoginFailed("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
            if refusal is not None:
                raise refusal
            user["LastLoginDate"] = now_iso()
            return user

    def restriction(self, user: Record, source_ip: str) -> LoginFailed | None:
        """The profile's login IP ranges and hours: the refusal of a login now from *source_ip*, or None."""
        return restrictions.check(self.profile_of(user), source_ip, self.clock(), self.time_zone)

    def log_login(
        self, user: Record, kind: str, status: str, *, app: str | None = None, source_ip: str = LOOPBACK
    ) -> None:
        """A LoginHistory row: kind is the LoginType (Application = the UI, Partner Product = SOAP API,
        Remote Access 2.0 = OAuth), app the connected app's name."""
        self.store.put(
            "LoginHistory",
            {
                "UserId": user["Id"],
                "LoginTime": now_iso(),
                "LoginType": kind,
                "SourceIp": source_ip,
                "Status": status,
                "Application": app or ("Browser" if kind == "Application" else kind),
                "ApiType": API_TYPES.get(kind, "N/A"),
                "LoginUrl": "login.salesforce.com",
                "Platform": "Unknown",
                "Browser": "Unknown",
            },
        )

    def issue_session(
        self, user_id: str, kind: str, app: ConnectedApp | None = None, oauth_token_id: str | None = None
    ) -> Session:
        with self.world.lock:
            session = Session(new_session_token(self.org_id), user_id, kind, app.id if app else None, oauth_token_id)
            self.sessions[session.token] = session
            return session

    def session_for(self, token: str) -> tuple[Session, Record] | None:
        with self.world.lock:
            session = self.sessions.get(token)
            if session is not None and self.session_timeout is not None:
                if time.time() - session.last_used > self.session_timeout:
                    del self.sessions[token]
                    self.sessions_expired += 1
                    return None
            user = self.user(session.user_id) if session else None
            if session is None or user is None or not user["IsActive"]:
                return None
            if session.oauth_token_id and self.store.get("OauthToken", session.oauth_token_id) is None:
                return None
            if session.oauth_token_id:
                row = self.store.require("OauthToken", session.oauth_token_id)
                row["LastUsedDate"] = now_iso()
            session.last_used = time.time()
            return session, user

    def invalidate_sessions(self, user_id: str, kind: str | None = None) -> int:
        """End every session and access token of a user (as deactivation, freezing or an admin does)."""
        full = normalize(user_id) or user_id
        with self.world.lock:
            gone = [t for t, s in self.sessions.items() if s.user_id == full and (kind is None or s.kind == kind)]
            for token in gone:
                del self.sessions[token]
            return len(gone)

    def expire_sessions(self, kind: str | None = None) -> int:
        """End every user's sessions and access tokens (of *kind*: soap, oauth, ui), as the org's session timeout
        does; refresh tokens and connected apps stay. The number ended."""
        with self.world.lock:
            gone = [t for t, s in self.sessions.items() if kind is None or s.kind == kind]
            for token in gone:
                del self.sessions[token]
            self.sessions_expired += len(gone)
            return len(gone)

    # -- OAuth grants ---------------------------------------------------------------------
    def new_authorization(self, app: ConnectedApp, user: Record) -> Record:
        """A new OauthToken row for (app, user): every authorization makes one. Beyond TOKENS_PER_APP the
        oldest is revoked silently (its refresh and access tokens stop working, its row disappears)."""
        with self.world.lock:
            row = self.store.put(
                "OauthToken",
                {
                    "AppName": app.name,
                    "UserId": user["Id"],
                    "UseCount": 0,
                    "LastUsedDate": now_iso(),
                    "DeleteToken": new_refresh_token(),
                    "AppMenuItemId": app.id,
                    "RequestToken": None,
                    "Seq": next(self._seq),
                },
            )
            rows = sorted(self.store.find("OauthToken", AppName=app.name, UserId=user["Id"]), key=lambda r: r["Seq"])
            for old in rows[:-TOKENS_PER_APP]:
                self.revoke_row(old["Id"])
            return row

    def new_refresh(self, app: ConnectedApp, user: Record, row: Record) -> str:
        with self.world.lock:
            refresh = RefreshToken(new_refresh_token(), user["Id"], app.id, row["Id"])
            self.refresh_tokens[refresh.token] = refresh
            return refresh.token

    def revoke_row(self, row_id: str) -> None:
        """Delete an OauthToken row: its refresh tokens and access tokens stop working."""
        with self.world.lock:
            self.store.remove("OauthToken", row_id)
            for token in [t for t, r in self.refresh_tokens.items() if r.oauth_token_id == row_id]:
                del self.refresh_tokens[token]
            for token in [t for t, s in self.sessions.items() if s.oauth_token_id == row_id]:
                del self.sessions[token]

    # -- Python API for other stand-ins ---------------------------------------------------
    def register_connected_app(
        self, name: str, client_id: str, client_secret: str, redirect_uris: list[str], **options: Any
    ) -> ConnectedApp:
        with self.world.lock:
            existing = self.connected_app(name)
            app = ConnectedApp(
                id=existing.id if existing else self.ids.new("ConnectedApplication"),
                name=name,
                client_id=client_id,
                client_secret=client_secret,
                redirect_uris=list(redirect_uris),
                **options,
            )
            self.apps[app.id] = app
            apps.sync_row(self, app)
            return app

    def grant(self, app_name: str, username: str) -> str:
        """Record that *username* authorized *app_name* (an OauthToken row); returns a refresh token."""
        app, user = self.connected_app(app_name), self.user_by_username(username)
        if app is None or user is None:
            raise KeyError(f"no connected app {app_name!r} or no user {username!r}")
        return self.new_refresh(app, user, self.new_authorization(app, user))

    def authorized_user(self, app_name: str) -> Record | None:
        """The user who most recently authorized *app_name* (the connector's integration user)."""
        with self.world.lock:
            rows = sorted(self.store.find("OauthToken", AppName=app_name), key=lambda r: r["Seq"])
            return self.user(rows[-1]["UserId"]) if rows else None

    def oauth_tokens_for(self, user_id: str) -> list[Record]:
        with self.world.lock:
            return [dict(r) for r in self.store.find("OauthToken", UserId=normalize(user_id) or user_id)]

    def whoami(self, access_token: str) -> Record | None:
        found = self.session_for(access_token)
        return found[1] if found else None

    def authorize_url(self, client_id: str, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state}
        if code_challenge:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.base_url}/services/oauth2/authorize?{urlencode(params)}"

    def expire_codes(self) -> None:
        now = time.time()
        for code in [c for c, a in self.codes.items() if a.expires < now]:
            del self.codes[code]
