"""Salesforce over simple-salesforce: the few objects the guides touch, with typed errors.

Seams (no patching): ``session=`` is a ``requests.Session``; when the login host is not Salesforce's
own (the sandbox), a transport adapter sends ``https://login.salesforce.com`` there. ``trust_env`` is
off so that ``REQUESTS_CA_BUNDLE`` cannot override the CA bundle given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.exceptions import SalesforceError as SFError

from core import redaction
from core.errors import BatonError

_log = logging.getLogger("baton.salesforce")
API_VERSION = "59.0"
RETRYABLE = {"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"}
HINTS = {
    "INSUFFICIENT_ACCESS_OR_READONLY": "Baton's Salesforce user needs the 'Manage Users' permission.",
    "API_DISABLED_FOR_ORG": "The user's profile needs 'API Enabled'.",
    "API_CURRENTLY_DISABLED": "The user's profile needs 'API Enabled'.",
    "LICENSE_LIMIT_EXCEEDED": "No licence seat is left: free one or buy more, then run the flow again.",
    "DUPLICATE_USERNAME": "Usernames are unique across all Salesforce orgs; choose another username.",
    "INVALID_LOGIN": "Check the username, the password and the security token.",
    "INVALID_SESSION_ID": (
        "The session expired or was ended. Baton's own connected app logs in again (client credentials) once and "
        "retries; a session given to Baton (a user's token) cannot be renewed: authorise again."
    ),
}
STILL_INVALID = (
    "Salesforce refused the new session too, right after Baton logged in again (client credentials). Check that "
    "the connected app's run-as user is active and not frozen, and the org's Session Settings (e.g. 'Lock "
    "sessions to the IP address from which they originated')."
)


class SalesforceError(BatonError):
    """A Salesforce call failed. ``code`` is Salesforce's errorCode; ``retryable`` for limits and 503."""

    def __init__(self, what: str, code: str, message: str, status: int = 0, fields: list[str] | None = None) -> None:
        self.code = code
        self.status = status
        self.fields = list(fields or [])
        self.retryable = code in RETRYABLE or status == 503
        hint = HINTS.get(code, "")
        on = f" (fields: {', '.join(self.fields)})" if self.fields else ""
        super().__init__(f"Salesforce {what} failed: {code}: {message}{on}." + (f" {hint}" if hint else ""))


class _LoginHostAdapter(HTTPAdapter):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._target = urlsplit(base_url)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.hostname == "login.salesforce.com":
            request.url = urlunsplit((self._target.scheme, self._target.netloc, parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


def make_session(login_url: str, ca_file: str | None) -> requests.Session:
    """A requests session for Salesforce; sends login.salesforce.com to *login_url* when it differs."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file or True
    if urlsplit(login_url).hostname != "login.salesforce.com":
        session.mount("https://login.salesforce.com", _LoginHostAdapter(login_url))
    return session


def _translate(what: str, exc: Exception) -> SalesforceError:
    if isinstance(exc, SalesforceAuthenticationFailed):
        return SalesforceError(what, str(exc.code), str(exc.message), 401)
    if isinstance(exc, SFError):
        content = exc.content
        first: Any = content[0] if isinstance(content, list) and content else {}
        if not isinstance(first, dict):
            first = {}
        return SalesforceError(
            what, str(first.get("errorCode", "UNKNOWN")), str(first.get("message", "")), exc.status, first.get("fields")
        )
    if isinstance(exc, requests.RequestException):
        return SalesforceError(what, "SERVER_UNAVAILABLE", f"no answer ({type(exc).__name__})", 503)
    raise exc


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str
    org_id: str
    email_verified: bool | None = None  # userinfo's email_verified, when the org reports it


class SalesforceClient:
    """One authenticated connection. Methods name the REST resource they call.

    A client made by ``client_credentials`` can log in again: when a call is answered INVALID_SESSION_ID (the
    org's session timeout, or an admin ended the session), it logs in once more and retries the call once; a
    second INVALID_SESSION_ID right after that fails with ``STILL_INVALID``. ``reauths`` counts the logins again."""

    def __init__(self, sf: Salesforce, relogin: Callable[[], str] | None = None) -> None:
        self.sf = sf
        self._relogin = relogin
        self.reauths = 0

    # -- connecting -------------------------------------------------------------------------
    @classmethod
    def with_token(cls, instance_url: str, access_token: str, *, session: requests.Session) -> SalesforceClient:
        redaction.register(access_token)
        return cls(Salesforce(instance_url=instance_url, session_id=access_token, session=session, version=API_VERSION))

    @classmethod
    def client_credentials(
        cls, login_url: str, client_id: str, client_secret: str, *, session: requests.Session
    ) -> SalesforceClient:
        """``POST /services/oauth2/token`` grant_type=client_credentials (Baton's connected app, run-as user)."""
        redaction.register(client_secret)

        def token() -> dict[str, Any]:
            return cls._token(login_url, session, {"grant_type": "client_credentials"}, auth=(client_id, client_secret))

        reply = token()
        client = cls.with_token(reply["instance_url"], reply["access_token"], session=session)
        client._relogin = lambda: str(token()["access_token"])
        return client

    @property
    def can_relogin(self) -> bool:
        return self._relogin is not None

    def relogin(self) -> str:
        """Log in again (the grant that made this client) and use the new session from now on; the new token."""
        if self._relogin is None:
            raise SalesforceError("login again", "INVALID_SESSION_ID", "this connection was given a token", 401)
        token = self._relogin()
        redaction.register(token)
        self.sf.session_id = token
        self.sf.headers["Authorization"] = "Bearer " + token
        md = self.sf._mdapi  # the Metadata API's SessionHeader, when it was made with the old session
        if md is not None:
            md._session_id = token
            md._session_header.sessionId = token
        self.reauths += 1
        _log.info("Salesforce answered INVALID_SESSION_ID: logged in again (client credentials), retrying once")
        return token

    @classmethod
    def password_grant(
        cls, login_url: str, client_id: str, client_secret: str, username: str, password: str, *,
        session: requests.Session,
    ) -> SalesforceClient:  # fmt: skip
        """``POST /services/oauth2/token`` grant_type=password: *username* through Baton's connected app."""
        redaction.register(password)
        data = {"grant_type": "password", "username": username, "password": password}
        reply = cls._token(login_url, session, data, auth=(client_id, client_secret))
        return cls.with_token(reply["instance_url"], reply["access_token"], session=session)

    @classmethod
    def password_login(
        cls, login_url: str, username: str, password: str, security_token: str, *, session: requests.Session
    ) -> SalesforceClient:
        """SOAP ``login`` (``/services/Soap/u/59.0``) with password + security token."""
        redaction.register(password, security_token)
        try:
            sf = Salesforce(
                username=username, password=password, security_token=security_token, session=session,
                domain="login", version=API_VERSION,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - translated or re-raised
            raise _translate("login", exc) from None
        return cls(sf)

    @staticmethod
    def _token(
        login_url: str, session: requests.Session, data: dict[str, str], auth: tuple[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            reply = session.post(f"{login_url.rstrip('/')}/services/oauth2/token", data=data, auth=auth, timeout=15)
        except requests.RequestException as exc:
            raise _translate("token", exc) from None
        body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
        if reply.status_code != 200:
            raise SalesforceError(
                "token",
                str(body.get("error", reply.status_code)),
                str(body.get("error_description", "")),
                reply.status_code,
            )
        redaction.register(*(str(v) for k, v in body.items() if "token" in k))
        return dict(body)

    # -- calls ------------------------------------------------------------------------------
    def _do(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.renewing(what, lambda: self._once(what, fn, *args, **kwargs))

    def _once(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SFError, requests.RequestException) as exc:
            raise _translate(what, exc) from None

    def renewing(self, what: str, call: Callable[[], Any]) -> Any:
        """*call*; on INVALID_SESSION_ID, log in again once and call again (see the class)."""
        try:
            return call()
        except SalesforceError as exc:
            if exc.code != "INVALID_SESSION_ID" or self._relogin is None:
                raise
        self.relogin()
        try:
            return call()
        except SalesforceError as exc:
            if exc.code == "INVALID_SESSION_ID":
                raise SalesforceError(what, "INVALID_SESSION_ID", STILL_INVALID, exc.status) from None
            raise

    def query(self, soql: str) -> list[dict[str, Any]]:
        """``GET /query`` with paging (query_all)."""
        reply = self._do("query", self.sf.query_all, soql)
        return [dict(r) for r in reply["records"]]

    def one(self, soql: str) -> dict[str, Any] | None:
        rows = self.query(soql)
        return rows[0] if rows else None

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """``POST /sobjects/<sobject>/``; returns the new Id."""
        reply = self._do(f"create {sobject}", lambda: getattr(self.sf, sobject).create(fields))  # new session on retry
        return str(reply["id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """``PATCH /sobjects/<sobject>/<id>``."""
        self._do(f"update {sobject}", lambda: getattr(self.sf, sobject).update(record_id, fields))

    def set_password(self, user_id: str, password: str) -> None:
        """``POST /sobjects/User/<id>/password``."""
        redaction.register(password)
        self._do("set password", self.sf.set_password, user_id, password)

    def identity(self) -> Identity:
        """``GET /services/oauth2/userinfo`` for the connection's own user."""
        return self.renewing("userinfo", self._identity)  # type: ignore[no-any-return]

    def _identity(self) -> Identity:
        url = f"https://{self.sf.sf_instance}/services/oauth2/userinfo"
        try:
            reply = self.sf.session.get(url, headers={"Authorization": f"Bearer {self.sf.session_id}"}, timeout=15)
        except requests.RequestException as exc:
            raise _translate("userinfo", exc) from None
        if reply.status_code != 200:
            raise SalesforceError("userinfo", "INVALID_SESSION_ID", f"HTTP {reply.status_code}", reply.status_code)
        data = reply.json()
        verified = data.get("email_verified")
        return Identity(user_id=str(data["user_id"]), username=str(data.get("preferred_username", "")),
                        org_id=str(data.get("organization_id", "")),
                        email_verified=verified if isinstance(verified, bool) else None)  # fmt: skip


def soql_quote(value: str) -> str:
    """A SOQL string literal: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
