"""The OAuth 2.0 JWT bearer grant (RFC 7523) at ``/services/oauth2/token``:
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``.

The assertion is RS256-signed with the private key whose certificate is on the connected app; ``iss`` is the
app's consumer key, ``sub`` the username, ``aud`` the login URL (``https://login.salesforce.com``,
``https://test.salesforce.com`` or the stand-in's own base URL), ``exp`` in the future. The user must be
pre-authorized (an app with "Admin approved users are pre-authorized", granted via profile or permission set)
or, for a self-authorize app, have approved it before with a refresh token. No refresh token is issued.

Errors as Salesforce words them: ``invalid_client_id`` "client identifier invalid" (unknown ``iss``),
``invalid_grant`` "invalid assertion" (malformed, bad signature, no certificate, unknown user), "audience is
invalid", "expired authorization code" (``exp`` passed or missing), "inactive user", "user hasn't approved this
consumer", "ip restricted" / "login hours restricted"; ``invalid_app_access`` "user is not admin approved to
access this app".
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import Response

from sandbox.salesforce import apps, restrictions
from sandbox.salesforce.auth import ConnectedApp
from sandbox.salesforce.errors import OAuthError
from sandbox.salesforce.org import Org
from sandbox.salesforce.store import Record

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
INVALID = OAuthError("invalid_grant", "invalid assertion")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _decode(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    try:
        head, body, sig = assertion.split(".")
        header, claims = json.loads(_b64(head)), json.loads(_b64(body))
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("not objects")
        return header, claims, f"{head}.{body}".encode(), _b64(sig)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise INVALID from exc


def _verify(app: ConnectedApp, header: dict[str, Any], signed: bytes, signature: bytes) -> None:
    if header.get("alg") != "RS256" or not app.certificate:
        raise INVALID
    key = x509.load_pem_x509_certificate(app.certificate.encode()).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise INVALID
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise INVALID from exc


def _approved_before(org: Org, app: ConnectedApp, user: Record) -> bool:
    return any(r.app_id == app.id and r.user_id == user["Id"] for r in org.refresh_tokens.values())


def grant(org: Org, request: Request, params: dict[str, Any], source_ip: str) -> tuple[ConnectedApp, Record]:
    """The app and user a valid assertion stands for, or the OAuthError Salesforce would answer."""
    header, claims, signed, signature = _decode(str(params.get("assertion") or ""))
    issuer = str(claims.get("iss") or "")
    app = org.connected_app(issuer) if issuer else None
    if app is None or app.client_id != issuer:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    _verify(app, header, signed, signature)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(str(a).rstrip("/") in (*AUDIENCES, org.base_url) for a in audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires < time.time():
        raise OAuthError("invalid_grant", "expired authorization code")
    user = org.user_by_username(str(claims.get("sub") or ""))
    if user is None:
        raise INVALID
    if not user["IsActive"] or org.frozen(user):
        raise OAuthError("invalid_grant", "inactive user")
    if app.installed and app.admin_approved_only:
        apps.check_token_use(org, app, user, "Remote Access 2.0")
    elif not _approved_before(org, app, user):
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    refusal = org.restriction(user, source_ip)
    if refusal is not None:
        org.log_login(user, "Remote Access 2.0", restrictions.STATUS[refusal.code], app=app.name, source_ip=source_ip)
        raise OAuthError("invalid_grant", restrictions.OAUTH_DESCRIPTION[refusal.code])
    org.log_login(user, "Remote Access 2.0", "Success", app=app.name, source_ip=source_ip)
    return app, user


def token(org: Org, request: Request, params: dict[str, Any], source_ip: str) -> Response:
    from sandbox.salesforce.oauth import token_reply

    app, user = grant(org, request, params, source_ip)
    scope = " ".join(s for s in app.scopes if s not in ("refresh_token", "offline_access"))
    return token_reply(org, app, user, refresh=None, row_id=None, scope=scope)
