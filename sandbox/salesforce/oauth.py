"""OAuth 2.0 endpoints: token (authorization_code + PKCE, refresh_token, password, client_credentials),
revoke, userinfo and the identity URL ``/id/<orgId>/<userId>``. The browser part (authorize, login
and consent pages) is in pages.py."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.salesforce import apps, jwt_bearer, restrictions
from sandbox.salesforce.auth import ConnectedApp, s256, signature
from sandbox.salesforce.errors import LoginFailed, OAuthError
from sandbox.salesforce.org import Org
from sandbox.salesforce.store import Record, now_iso
from sandbox.salesforce.web import bearer, client_ip, org_of
from sandbox.world import World


def _client(org: Org, request: Request, params: dict[str, Any], *, secret_needed: bool) -> ConnectedApp:
    client_id, secret = params.get("client_id"), params.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "invalid client credentials") from exc
    app = org.connected_app(str(client_id)) if client_id else None
    if app is None or app.client_id != client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if (secret_needed or secret) and secret != app.client_secret:
        raise OAuthError("invalid_client", "invalid client credentials")
    return app


def token_reply(
    org: Org, app: ConnectedApp, user: Record, *, refresh: str | None, row_id: str | None, scope: str
) -> Response:
    session = org.issue_session(user["Id"], "oauth", app, row_id)
    issued = str(int(time.time() * 1000))
    ident = org.identity_url(user["Id"])
    body = {
        "access_token": session.token,
        "signature": signature(app.client_secret, ident, issued),
        "scope": scope,
        "instance_url": org.base_url,
        "id": ident,
        "token_type": "Bearer",
        "issued_at": issued,
    }
    if refresh:
        body["refresh_token"] = refresh
    return JSONResponse(body, headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"})


def _authorization_code(org: Org, request: Request, params: dict[str, Any]) -> Response:
    code = org.codes.get(str(params.get("code", "")))
    app = _client(org, request, params, secret_needed=bool(code and org.apps[code.app_id].require_secret))
    with org.world.lock:
        org.expire_codes()
        code = org.codes.pop(str(params.get("code", "")), None)
    if code is None or code.app_id != app.id:
        raise OAuthError("invalid_grant", "invalid authorization code")
    if params.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri must match configuration")
    verifier = params.get("code_verifier")
    if code.challenge:
        if not verifier:
            raise OAuthError("invalid_grant", "invalid code verifier")
        expected = s256(str(verifier)) if code.challenge_method == "S256" else str(verifier)
        if expected != code.challenge:
            raise OAuthError("invalid_request", "invalid code verifier")
    user = org.user(code.user_id)
    if user is None or not user["IsActive"]:
        raise OAuthError("invalid_grant", "inactive user")
    apps.check_token_use(org, app, user, "Remote Access 2.0")
    row = org.new_authorization(app, user)
    org.log_login(user, "Remote Access 2.0", "Success", app=app.name, source_ip=client_ip(request))
    refresh = (
        org.new_refresh(app, user, row)
        if "refresh_token" in code.scope.split() or ("offline_access" in code.scope.split())
        else None
    )
    return token_reply(org, app, user, refresh=refresh, row_id=row["Id"], scope=code.scope)


def _refresh(org: Org, request: Request, params: dict[str, Any]) -> Response:
    app = _client(org, request, params, secret_needed=False)
    with org.world.lock:
        grant = org.refresh_tokens.get(str(params.get("refresh_token", "")))
        if grant is None or grant.app_id != app.id:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        user = org.user(grant.user_id)
        if user is None or not user["IsActive"]:
            raise OAuthError("invalid_grant", "inactive user")
        apps.check_token_use(org, app, user, "Remote Access 2.0")
        row = org.store.require("OauthToken", grant.oauth_token_id)
        org.log_login(user, "Remote Access 2.0", "Success", app=app.name, source_ip=client_ip(request))
        row["UseCount"] = int(row["UseCount"] or 0) + 1
        row["LastUsedDate"] = now_iso()
        new_refresh = None
        if app.rotate_refresh_tokens:
            del org.refresh_tokens[grant.token]
            new_refresh = org.new_refresh(app, user, row)
    return token_reply(org, app, user, refresh=new_refresh, row_id=row["Id"], scope=" ".join(app.scopes))


def _password(org: Org, request: Request, params: dict[str, Any]) -> Response:
    app = _client(org, request, params, secret_needed=True)
    try:
        user = org.check_login(
            str(params.get("username", "")),
            str(params.get("password", "")),
            kind="Remote Access 2.0",
            token_optional=True,
            source_ip=client_ip(request),
            app=app.name,
        )
    except LoginFailed as exc:
        existing = org.user_by_username(str(params.get("username", "")))
        if existing is not None and not existing["IsActive"]:
            raise OAuthError("invalid_grant", "inactive user") from exc
        if exc.code in restrictions.OAUTH_DESCRIPTION:
            raise OAuthError("invalid_grant", restrictions.OAUTH_DESCRIPTION[exc.code]) from exc
        raise OAuthError("invalid_grant", "authentication failure") from exc
    apps.check_token_use(org, app, user, "Remote Access 2.0")
    return token_reply(org, app, user, refresh=None, row_id=None, scope=" ".join(app.scopes))


def _client_credentials(org: Org, request: Request, params: dict[str, Any]) -> Response:
    app = _client(org, request, params, secret_needed=True)
    user = org.user_by_username(app.run_as) if app.run_as else None
    if user is None:
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    if not user["IsActive"]:
        raise OAuthError("invalid_grant", "inactive user")
    org.log_login(user, "Remote Access 2.0", "Success", app=app.name, source_ip=client_ip(request))
    return token_reply(
        org, app, user, refresh=None, row_id=None, scope=" ".join(a for a in app.scopes if a != "refresh_token")
    )


def _jwt_bearer(org: Org, request: Request, params: dict[str, Any]) -> Response:
    return jwt_bearer.token(org, request, params, client_ip(request))


GRANTS = {
    jwt_bearer.GRANT_TYPE: _jwt_bearer,
    "authorization_code": _authorization_code,
    "refresh_token": _refresh,
    "password": _password,
    "client_credentials": _client_credentials,
}


def revoke_token(org: Org, token: str) -> bool:
    """Revoke a refresh token, a DeleteToken, an access token or a session id; False if unknown."""
    with org.world.lock:
        grant = org.refresh_tokens.get(token)
        if grant is not None:
            org.revoke_row(grant.oauth_token_id)
            return True
        row = org.store.first("OauthToken", DeleteToken=token)
        if row is not None:
            org.revoke_row(row["Id"])
            return True
        return org.sessions.pop(token, None) is not None


def identity(org: Org, user: Record) -> dict[str, Any]:
    urls = {
        name: f"{org.base_url}/services/{path}/{{version}}/"
        for name, path in (("enterprise", "Soap/c"), ("partner", "Soap/u"), ("rest", "data/v"), ("sobjects", "data/v"))
    }
    urls["rest"] = f"{org.base_url}/services/data/v{{version}}/"
    urls["sobjects"] = f"{org.base_url}/services/data/v{{version}}/sobjects/"
    urls["query"] = f"{org.base_url}/services/data/v{{version}}/query/"
    return {
        "id": org.identity_url(user["Id"]),
        "asserted_user": True,
        "user_id": user["Id"],
        "organization_id": org.org_id,
        "username": user["Username"],
        "nick_name": user["CommunityNickname"],
        "display_name": user["Name"],
        "email": user["Email"],
        "email_verified": org.email_verified(user["Id"]),
        "first_name": user["FirstName"],
        "last_name": user["LastName"],
        "timezone": user["TimeZoneSidKey"],
        "active": user["IsActive"],
        "user_type": user["UserType"].upper(),
        "language": user["LanguageLocaleKey"],
        "locale": user["LocaleSidKey"],
        "utcOffset": 3600000,
        "last_modified_date": user["LastModifiedDate"],
        "is_app_installed": True,
        "urls": urls,
    }


def routes(world: World) -> list[BaseRoute]:
    async def token(request: Request) -> Response:
        org = org_of(world)
        params = await read_params(request)
        grant = GRANTS.get(str(params.get("grant_type", "")))
        try:
            if grant is None:
                raise OAuthError("unsupported_grant_type", "grant type not supported")
            return grant(org, request, params)
        except OAuthError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)

    async def revoke(request: Request) -> Response:
        org = org_of(world)
        params = await read_params(request)
        value = params.get("token")
        if not value:
            return JSONResponse(
                {"error": "unsupported_token_type", "error_description": "this token type is not supported"},
                status_code=400,
            )
        if not revoke_token(org, str(value)):
            return JSONResponse({"error": "invalid_token", "error_description": "invalid token"}, status_code=400)
        return Response(status_code=200)

    def _who(request: Request) -> Record | Response:
        org = org_of(world)
        token = bearer(request) or request.query_params.get("oauth_token")
        if not token:
            return PlainTextResponse("Missing_OAuth_Token", status_code=403)
        found = org.session_for(token)
        if found is None:
            return PlainTextResponse("Bad_OAuth_Token", status_code=403)
        return found[1]

    async def userinfo(request: Request) -> Response:
        org, who = org_of(world), _who(request)
        if isinstance(who, Response):
            return who
        ident = identity(org, who)
        return JSONResponse(
            {
                "sub": ident["id"],
                "user_id": who["Id"],
                "organization_id": org.org_id,
                "preferred_username": who["Username"],
                "nickname": who["CommunityNickname"],
                "name": who["Name"],
                "email": who["Email"],
                "email_verified": ident["email_verified"],
                "given_name": who["FirstName"],
                "family_name": who["LastName"],
                "zoneinfo": who["TimeZoneSidKey"],
                "active": who["IsActive"],
                "user_type": ident["user_type"],
                "language": who["LanguageLocaleKey"],
                "locale": who["LocaleSidKey"],
                "utcOffset": 3600000,
                "updated_at": who["LastModifiedDate"],
                "urls": ident["urls"],
            }
        )

    async def ident(request: Request) -> Response:
        org, who = org_of(world), _who(request)
        if isinstance(who, Response):
            return who
        target = org.user(request.path_params["user_id"])
        if request.path_params["org_id"][:15] != org.org_id[:15] or target is None:
            return PlainTextResponse("Bad_Id", status_code=404)
        return JSONResponse(identity(org, target))

    return [
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/revoke", revoke, methods=["GET", "POST"]),
        Route("/services/oauth2/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/id/{org_id}/{user_id}", ident, methods=["GET", "POST"]),
    ]
