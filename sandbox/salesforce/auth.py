"""Credentials, sessions, connected apps, authorization codes and refresh tokens of one org."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_LOOPBACK_RE = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/")


@dataclass
class ConnectedApp:
    """A connected app (Setup > App Manager): the OAuth client other systems use."""

    id: str
    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: list[str] = field(default_factory=lambda: ["api", "refresh_token"])
    rotate_refresh_tokens: bool = False
    allow_loopback_redirects: bool = False
    require_secret: bool = True
    run_as: str | None = None  # Username the client-credentials flow runs as
    installed: bool = True  # installed in the org (Setup > Connected Apps OAuth Usage > Install)
    admin_approved_only: bool = False  # Permitted Users: "Admin approved users are pre-authorized"
    certificate: str | None = None  # PEM; the JWT bearer flow checks assertions against it
    contact_email: str = "admin@example.com"

    def redirect_allowed(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        return self.allow_loopback_redirects and _LOOPBACK_RE.match(uri) is not None


@dataclass
class Credential:
    password: str
    security_token: str
    password_expired: bool = False
    email_verified: bool = False
    verify_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))


@dataclass
class Session:
    """A session id (SOAP or UI login) or an OAuth access token; both are Bearer tokens on REST."""

    token: str
    user_id: str
    kind: str  # soap | oauth | ui
    app_id: str | None = None
    oauth_token_id: str | None = None
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)  # the org's session timeout counts from here


@dataclass
class RefreshToken:
    token: str
    user_id: str
    app_id: str
    oauth_token_id: str


@dataclass
class AuthCode:
    code: str
    app_id: str
    user_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    challenge_method: str
    expires: float


def new_session_token(org_id: str) -> str:
    """``<org id 15>!<opaque>``, the shape of Salesforce session ids and access tokens."""
    return f"{org_id[:15]}!AQ8AQ{secrets.token_urlsafe(72)}"


def new_refresh_token() -> str:
    return "5Aep861" + secrets.token_urlsafe(60)


def new_code() -> str:
    return "aPrx" + secrets.token_urlsafe(48)


def new_security_token() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(25))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def password_problem(password: str) -> str | None:
    """The org's password policy (8+ characters, letters and digits); the reason it fails, or None."""
    if len(password) < 8:
        return "Your password must be at least 8 characters long."
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        return "Your password must have a mix of letters and numbers."
    return None


def generated_password() -> str:
    return "Gx" + secrets.token_urlsafe(10).replace("-", "a").replace("_", "b") + "7"


def signature(secret: str, user_url: str, issued_at: str) -> str:
    import hmac

    mac = hmac.new(secret.encode(), (user_url + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def same_origin_path(uri: str) -> str:
    """Only a local path is a safe startURL (no open redirect off the login page)."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or not uri.startswith("/") or uri.startswith("//"):
        return "/home/home.jsp"
    return uri
