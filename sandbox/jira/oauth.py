"""Atlassian's login page and OAuth 2.0 (3LO): auth.atlassian.com and api.atlassian.com's token paths."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.jira.state import AuthCode, Grant, JiraCloud, JiraUser, site
from sandbox.jira.web import basic_credentials, bearer_token, esc, hidden, page
from sandbox.world import World

SESSION_COOKIE = "cloud.session.token"
BRAND = "Atlassian"


def current_user(request: Request, state: JiraCloud) -> JiraUser | None:
    account_id = state.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    user = state.users.get(account_id or "")
    return user if user is not None and user.active else None


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"continue": target}), status_code=302)


def _safe_continue(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


def login_page(target: str, error: str = "", status: int = 200) -> Response:
    err = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
    return page(
        "Log in to continue",
        f"""{err}
<form method="post" action="/login">{hidden({"continue": target})}
<label>Email <input name="username" id="username" type="email" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="login-submit">Log in</button></form>""",
        status,
        BRAND,
    )


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _pkce_ok(code: AuthCode, verifier: str | None) -> bool:
    if code.code_challenge is None:
        return True
    if not verifier:
        return False
    if (code.code_challenge_method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed, code.code_challenge)


def _token_reply(state: JiraCloud, client_id: str, account_id: str, scopes: list[str]) -> JSONResponse:
    access, refresh = state.issue_tokens(client_id, account_id, scopes)
    body: dict[str, Any] = {
        "access_token": access.token,
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": " ".join(scopes),
    }
    if refresh is not None:
        body["refresh_token"] = refresh.token
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def routes(world: World) -> list[BaseRoute]:
    async def login(request: Request) -> Response:
        state = site(world)
        if request.method == "GET":
            return login_page(_safe_continue(request.query_params.get("continue", "/")))
        form = await read_params(request)
        target = _safe_continue(str(form.get("continue", "/")))
        user = state.user_by_email(str(form.get("username", "")))
        if user is None or not user.password or not hmac.compare_digest(user.password, str(form.get("password"))):
            return login_page(target, "Incorrect email address and / or password.", 401)
        if not user.active:
            return login_page(target, "Your account has been deactivated.", 403)
        sid = secrets.token_urlsafe(24)
        with world.lock:
            state.sessions[sid] = user.account_id
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    async def logout(request: Request) -> Response:
        state = site(world)
        with world.lock:
            state.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = page("You have been logged out", '<p><a href="/login">Log in again</a></p>', brand=BRAND)
        response.delete_cookie(SESSION_COOKIE)
        return response

    async def authorize(request: Request) -> Response:
        state = site(world)
        q = request.query_params
        app = state.apps.get(q.get("client_id", ""))
        if app is None:
            return page("Something went wrong", "<p>Invalid client_id: the app does not exist.</p>", 400, BRAND)
        redirect_uri = q.get("redirect_uri", "")
        if not app.redirect_allowed(redirect_uri):
            return page(
                "Something went wrong", "<p>The redirect_uri does not match the app's callback URL.</p>", 400, BRAND
            )
        if q.get("response_type") != "code":
            return _redirect_error(
                redirect_uri, q.get("state"), "unsupported_response_type", "response_type must be code"
            )
        if q.get("code_challenge_method") and q.get("code_challenge_method") not in ("S256", "plain"):
            return _redirect_error(redirect_uri, q.get("state"), "invalid_request", "unsupported code_challenge_method")
        user = current_user(request, state)
        if user is None:
            return login_redirect(request)
        rid = secrets.token_urlsafe(16)
        with world.lock:
            state.pending[rid] = {k: v for k, v in q.items()} | {"account_id": user.account_id}
        scopes = "".join(f"<li>{esc(s)}</li>" for s in q.get("scope", "").split())
        return page(
            f"{app.name} is requesting access to your Atlassian account",
            f"""
<p>Logged in as <strong id="consent-user">{esc(user.display_name)}</strong> ({esc(user.email)}).
<a href="/logout">Not you?</a></p>
<p>Use app on: <strong>{esc(state.site_name)}.atlassian.net</strong></p><ul>{scopes}</ul>
<form method="post" action="/authorize/consent">{hidden({"request_id": rid})}
<button type="submit" name="decision" value="accept" id="accept">Accept</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></form>""",
            brand=BRAND,
        )

    async def consent(request: Request) -> Response:
        state = site(world)
        form = await read_params(request)
        with world.lock:
            req = state.pending.pop(str(form.get("request_id", "")), None)
        user = current_user(request, state)
        if req is None or user is None or user.account_id != req["account_id"]:
            return page("Something went wrong", "<p>This consent request has expired. Start again.</p>", 400, BRAND)
        if form.get("decision") != "accept":
            return _redirect_error(req["redirect_uri"], req.get("state"), "access_denied", "User did not authorize")
        code = AuthCode(
            secrets.token_urlsafe(24),
            req["client_id"],
            user.account_id,
            req["redirect_uri"],
            req.get("scope", "").split(),
            req.get("code_challenge"),
            req.get("code_challenge_method") or ("plain" if req.get("code_challenge") else None),
            time.time() + 600,
        )
        with world.lock:
            state.codes[code.code] = code
            state.grants.append(Grant(code.client_id, user.account_id, code.scopes))
        params = {"code": code.code} | ({"state": req["state"]} if req.get("state") else {})
        return RedirectResponse(_add_query(req["redirect_uri"], params), status_code=302)

    async def token(request: Request) -> Response:
        state = site(world)
        params = await read_params(request)
        creds = basic_credentials(request)
        client_id = creds[0] if creds else str(params.get("client_id", ""))
        secret = creds[1] if creds else str(params.get("client_secret", ""))
        app = state.apps.get(client_id)
        if app is None or not hmac.compare_digest(app.client_secret, secret):
            return _oauth_error(401, "access_denied", "Unauthorized")
        grant_type = params.get("grant_type")
        with world.lock:
            if grant_type == "authorization_code":
                code = state.codes.pop(str(params.get("code", "")), None)
                if code is None or code.client_id != client_id or code.expires_at < time.time():
                    return _oauth_error(403, "invalid_grant", "Invalid authorization code")
                if params.get("redirect_uri") and params.get("redirect_uri") != code.redirect_uri:
                    return _oauth_error(403, "invalid_grant", "redirect_uri does not match")
                if not _pkce_ok(code, params.get("code_verifier")):
                    return _oauth_error(403, "invalid_grant", "Invalid code_verifier")
                return _token_reply(state, client_id, code.account_id, code.scopes)
            if grant_type == "refresh_token":
                old = state.refresh_tokens.get(str(params.get("refresh_token", "")))
                if old is None or not old.active or old.client_id != client_id:
                    return _oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.")
                old.active = False  # rotation: the old refresh token stops working
                return _token_reply(state, client_id, old.account_id, old.scopes)
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")

    async def accessible_resources(request: Request) -> Response:
        state = site(world)
        tok = state.bearer(bearer_token(request) or "")
        if tok is None:
            return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
        return JSONResponse(
            [
                {
                    "id": state.cloud_id,
                    "name": state.site_name,
                    "url": state.site_url,
                    "scopes": [s for s in tok.scopes if s != "offline_access"],
                    "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
                }
            ]
        )

    async def me(request: Request) -> Response:
        state = site(world)
        tok = state.bearer(bearer_token(request) or "")
        user = state.users.get(tok.account_id) if tok else None
        if tok is None or user is None:
            return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
        return JSONResponse(
            {
                "account_type": user.account_type,
                "account_id": user.account_id,
                "email": user.email,
                "name": user.display_name,
                "nickname": user.display_name.split()[0],
                "account_status": "active" if user.active else "inactive",
                "email_verified": True,
                "zoneinfo": user.time_zone,
                "locale": user.locale.replace("_", "-"),
                "picture": "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/default",
                "extended_profile": {},
            }
        )

    return [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
        Route("/authorize", authorize),
        Route("/authorize/consent", consent, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/token/accessible-resources", accessible_resources),
        Route("/me", me),
    ]


def _add_query(url: str, params: dict[str, str]) -> str:
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


def _redirect_error(redirect_uri: str, state: str | None, error: str, description: str) -> Response:
    params = {"error": error, "error_description": description} | ({"state": state} if state else {})
    return RedirectResponse(_add_query(redirect_uri, params), status_code=302)
