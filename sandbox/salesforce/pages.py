"""Browser pages: the login page, ``/services/oauth2/authorize`` (consent), logout, e-mail
verification and the "reset my security token" page (the only way to get a new token)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.salesforce import apps, templates
from sandbox.salesforce.auth import AuthCode, ConnectedApp, new_code, new_security_token, same_origin_path
from sandbox.salesforce.errors import LoginFailed
from sandbox.salesforce.org import Org
from sandbox.salesforce.store import Record
from sandbox.salesforce.web import client_ip, org_of
from sandbox.world import Mail, World

COOKIE = "sid"
ERROR_PAGE = "/setup/secur/RemoteAccessErrorPage.apexp"
ID_SCOPES = {"id", "openid", "profile", "email", "address", "phone", "web", "full", "offline_access"}
AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)
LOGIN_FAILED = (
    "Please check your username and password. If you still can't log in, contact your Salesforce administrator."
)


def ui_user(org: Org, request: Request) -> tuple[str, Record] | None:
    token = request.cookies.get(COOKIE)
    found = org.session_for(token) if token else None
    if found is None or found[0].kind != "ui":
        return None
    return found[0].token, found[1]


def _redirect_with(uri: str, params: dict[str, str]) -> Response:
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(uri + joiner + urlencode(params), status_code=302)


def _confirm(session_token: str, client_id: str) -> str:
    return hmac.new(session_token.encode(), client_id.encode(), hashlib.sha256).hexdigest()[:32]


def _check_client(org: Org, params: dict[str, Any]) -> ConnectedApp | Response:
    app = org.connected_app(str(params.get("client_id", "")))
    if app is None or app.client_id != params.get("client_id"):
        return PlainTextResponse("error=invalid_client_id&error_description=client%20identifier%20invalid", 400)
    if not app.redirect_allowed(str(params.get("redirect_uri", ""))):
        return PlainTextResponse(
            "error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match%20configuration", 400
        )
    return app


def _problem(app: ConnectedApp, params: dict[str, Any]) -> tuple[str, str] | None:
    if params.get("response_type") != "code":
        return "unsupported_response_type", "response type not supported"
    if params.get("code_challenge_method") not in (None, "", "S256", "plain"):
        return "invalid_request", "unsupported code_challenge_method"
    requested = str(params.get("scope") or "").split()
    if any(s not in app.scopes and s not in ID_SCOPES for s in requested):
        return "invalid_scope", "the requested scope is not allowed"
    return None


def _issue_code(org: Org, app: ConnectedApp, user: Record, params: dict[str, Any]) -> Response:
    scope = " ".join(str(params.get("scope") or "").split() or app.scopes)
    code = AuthCode(
        new_code(),
        app.id,
        user["Id"],
        str(params["redirect_uri"]),
        scope,
        params.get("code_challenge") or None,
        str(params.get("code_challenge_method") or "S256"),
        time.time() + 900,
    )
    with org.world.lock:
        org.codes[code.code] = code
    out = {"code": code.code}
    if params.get("state") is not None:
        out["state"] = str(params["state"])
    return _redirect_with(code.redirect_uri, out)


def routes(world: World) -> list[BaseRoute]:
    async def authorize(request: Request) -> Response:
        org = org_of(world)
        params = await read_params(request)
        app = _check_client(org, params)
        if isinstance(app, Response):
            return app
        redirect_uri = str(params["redirect_uri"])
        state = {"state": str(params["state"])} if params.get("state") is not None else {}
        problem = _problem(app, params)
        if problem:
            return _redirect_with(redirect_uri, {"error": problem[0], "error_description": problem[1], **state})
        prompts = str(params.get("prompt") or "").split()
        logged_in = ui_user(org, request)
        if logged_in is None or ("login" in prompts and request.method == "GET"):
            if logged_in:
                org.sessions.pop(logged_in[0], None)
            again = {k: str(params[k]) for k in AUTHORIZE_FIELDS if params.get(k) is not None and k != "prompt"}
            rest = [p for p in prompts if p != "login"]
            if rest:
                again["prompt"] = " ".join(rest)
            start = "/services/oauth2/authorize?" + urlencode(again)
            return RedirectResponse("/?startURL=" + quote(start, safe=""), status_code=302)
        token, user = logged_in
        refused = apps.authorize_problem(org, app, user)
        if refused:
            if refused[0] == "OAUTH_APP_ACCESS_DENIED":
                org.log_login(
                    user, "Remote Access 2.0", apps.NOT_APPROVED_STATUS, app=app.name, source_ip=client_ip(request)
                )
            return RedirectResponse(
                ERROR_PAGE + "?" + urlencode({"error": refused[0], "error_description": refused[1]}), status_code=302
            )
        if request.method == "POST":
            if params.get("confirm") != _confirm(token, app.client_id):
                return PlainTextResponse("error=invalid_request&error_description=invalid%20confirmation", 400)
            if params.get("decision") != "Allow":
                return _redirect_with(
                    redirect_uri,
                    {"error": "access_denied", "error_description": "end-user denied authorization", **state},
                )
            return _issue_code(org, app, user, params)
        approved = org.store.first("OauthToken", AppName=app.name, UserId=user["Id"]) is not None
        if app.admin_approved_only and app.installed:
            approved = True  # pre-authorized by an admin: no consent page
        if approved and "consent" not in prompts:
            return _issue_code(org, app, user, params)
        fields = {k: params.get(k) for k in AUTHORIZE_FIELDS if k != "prompt"}
        fields["confirm"] = _confirm(token, app.client_id)
        scopes = str(params.get("scope") or "").split() or app.scopes
        return HTMLResponse(templates.consent_page(app.name, user["Username"], scopes, fields))

    async def oauth_error(request: Request) -> Response:
        error = request.query_params.get("error", "OAUTH_APPROVAL_ERROR_GENERIC")
        text = (
            "We can't authorize you because of an OAuth error. For more information, contact your Salesforce "
            f"administrator. {error}: {request.query_params.get('error_description', '')}"
        )
        return HTMLResponse(templates.message_page("Error: OAuth Error", text, "oauth_error"), status_code=400)

    async def login(request: Request) -> Response:
        org = org_of(world)
        params = await read_params(request)
        start = same_origin_path(str(params.get("startURL") or "/home/home.jsp"))
        if request.method == "GET":
            if ui_user(org, request) and params.get("startURL"):
                return RedirectResponse(start, status_code=302)
            return HTMLResponse(templates.login_page(start))
        username = str(params.get("username", ""))
        try:
            user = org.check_login(
                username,
                str(params.get("pw", "")),
                kind="Application",
                token_optional=True,
                source_ip=client_ip(request),
            )
        except LoginFailed:
            return HTMLResponse(templates.login_page(start, LOGIN_FAILED, username), status_code=200)
        session = org.issue_session(user["Id"], "ui")
        response = RedirectResponse(start, status_code=302)
        response.set_cookie(COOKIE, session.token, httponly=True, secure=True, samesite="lax", path="/")
        return response

    async def home(request: Request) -> Response:
        org = org_of(world)
        found = ui_user(org, request)
        if found is None:
            return RedirectResponse("/?startURL=%2Fhome%2Fhome.jsp", status_code=302)
        user = found[1]
        return HTMLResponse(templates.home_page(user["Name"], bool(org.profile_of(user)["PermissionsApiUserOnly"])))

    async def logout(request: Request) -> Response:
        org = org_of(world)
        found = ui_user(org, request)
        if found:
            with world.lock:
                org.sessions.pop(found[0], None)
        response = HTMLResponse(templates.message_page("Logged out", "You have been logged out.", "logged_out"))
        response.delete_cookie(COOKIE, path="/")
        return response

    async def verify(request: Request) -> Response:
        org = org_of(world)
        user = org.user(request.query_params.get("u", ""))
        cred = org.credentials.get(user["Id"]) if user else None
        if (
            user is None
            or cred is None
            or not hmac.compare_digest(cred.verify_secret, request.query_params.get("t", ""))
        ):
            return HTMLResponse(templates.message_page("Link expired", "This link is invalid or has expired."), 400)
        with world.lock:
            cred.email_verified = True
        if org.profile_of(user)["PermissionsApiUserOnly"]:
            return HTMLResponse(templates.home_page(user["Name"], True))
        return HTMLResponse(templates.message_page("Account verified", "Your account has been verified.", "verified"))

    async def reset_token(request: Request) -> Response:
        org = org_of(world)
        found = ui_user(org, request)
        if found is None:
            start = quote("/_ui/system/security/ResetApiTokenEdit", safe="")
            return RedirectResponse(f"/?startURL={start}", status_code=302)
        user = found[1]
        if request.method == "GET":
            return HTMLResponse(templates.reset_token_page())
        token = new_security_token()
        with world.lock:
            org.credentials[user["Id"]].security_token = token
        world.send_mail(
            Mail(
                to=user["Email"],
                sender="support@salesforce.com",
                subject="Your new Salesforce security token",
                body=(
                    f"Hello {user['Name']},\n\nAs requested, here is your new security token for "
                    f"{user['Username']}:\n\nSecurity token (case-sensitive): {token}\n"
                ),
            )
        )
        return HTMLResponse(templates.reset_token_page(user["Email"]))

    return [
        Route("/services/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route(ERROR_PAGE, oauth_error),
        Route("/", login, methods=["GET", "POST"]),
        Route("/home/home.jsp", home),
        Route("/secur/logout.jsp", logout, methods=["GET", "POST"]),
        Route("/verify", verify),
        Route("/_ui/system/security/ResetApiTokenEdit", reset_token, methods=["GET", "POST"]),
    ]
