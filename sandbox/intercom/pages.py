"""app.intercom.com pages: admin sign-in, the OAuth authorize page, and the Jira app (App info, Uninstall, Install).

Install sends the browser to Jira's 3LO consent; the callback exchanges the code at Jira's token endpoint and asks
Jira who consented: that Jira account becomes the app user.
"""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.intercom.state import Admin, Workspace, workspace
from sandbox.jira.web import esc, hidden, page
from sandbox.world import World

COOKIE = "intercom-session"
BRAND = "Intercom"
JIRA_SCOPES = "read:jira-user read:jira-work write:jira-work offline_access"


def _admin(request: Request, state: Workspace) -> Admin | None:
    return state.admins.get(state.sessions.get(request.cookies.get(COOKIE, ""), ""))


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/admins/sign_in?" + urlencode({"continue": target}), status_code=302)


def _safe(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


def routes(world: World) -> list[BaseRoute]:
    def app_path(state: Workspace) -> str:
        return f"/a/apps/{state.id_code}/appstore/jira"

    async def sign_in(request: Request) -> Response:
        state = workspace(world)
        form = await read_params(request)
        target = _safe(str(form.get("continue", "/")))
        error = ""
        if request.method == "POST":
            admin = state.admin_by_email(str(form.get("email", "")))
            if admin is not None and admin.password and hmac.compare_digest(admin.password, str(form.get("password"))):
                sid = secrets.token_urlsafe(24)
                with world.lock:
                    state.sessions[sid] = admin.id
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
                return response
            error = '<p class="error" role="alert">That email and password combination is not valid.</p>'
        return page(
            "Sign in to Intercom",
            f"""{error}<form method="post" action="/admins/sign_in">
{hidden({"continue": target})}<label>Work email <input name="email" id="email" type="email"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="sign-in">Sign in</button></form>""",
            401 if error else 200,
            BRAND,
        )

    async def sign_out(request: Request) -> Response:
        state = workspace(world)
        with world.lock:
            state.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = RedirectResponse("/admins/sign_in", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def oauth(request: Request) -> Response:
        state = workspace(world)
        q = request.query_params
        client = state.clients.get(q.get("client_id", ""))
        if client is None:
            return page("App not found", "<p>No app with this client_id.</p>", 400, BRAND)
        redirect = q.get("redirect_uri") or (client.redirect_uris[0] if client.redirect_uris else "")
        if not client.redirect_allowed(redirect):
            return page("Invalid redirect", "<p>The redirect_uri is not registered for this app.</p>", 400, BRAND)
        admin = _admin(request, state)
        if admin is None:
            return _to_login(request)
        rid = secrets.token_urlsafe(16)
        with world.lock:
            state.pending[rid] = {
                "client_id": client.client_id,
                "redirect_uri": redirect,
                "state": q.get("state", ""),
                "admin_id": admin.id,
            }
        return page(
            f"{client.name} would like to connect to {state.name}",
            f"""
<p>Signed in as <strong id="oauth-admin">{esc(admin.name)}</strong> ({esc(admin.email)})</p>
<form method="post" action="/oauth/authorize">{hidden({"request_id": rid})}
<button type="submit" name="decision" value="allow" id="authorize">Authorize access</button>
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button></form>""",
            brand=BRAND,
        )

    async def oauth_decide(request: Request) -> Response:
        state = workspace(world)
        form = await read_params(request)
        admin = _admin(request, state)
        with world.lock:
            req = state.pending.pop(str(form.get("request_id", "")), None)
            if req is None or admin is None or admin.id != req.get("admin_id"):
                return page("Request expired", "<p>Start the authorization again.</p>", 400, BRAND)
            params = {"state": req["state"]} if req["state"] else {}
            if form.get("decision") != "allow":
                params["error"] = "access_denied"
            else:
                code = secrets.token_urlsafe(24)
                state.codes[code] = (req["client_id"], admin.id, req["redirect_uri"])
                params["code"] = code
        sep = "&" if "?" in req["redirect_uri"] else "?"
        return RedirectResponse(req["redirect_uri"] + sep + urlencode(params), status_code=302)

    async def app_info(request: Request) -> Response:
        state = workspace(world)
        admin = _admin(request, state)
        if admin is None:
            return _to_login(request)
        app = state.jira_app
        if app is None or not app.installed:
            return page(
                "Jira Cloud for Intercom",
                f"""<p class="status" id="install-status">Not installed</p>
<form method="post" action="{app_path(state)}/install"><button type="submit" id="install">Install</button></form>""",
                brand=BRAND,
            )
        installer = state.admins.get(app.installed_by)
        who = f"{app.app_user.get('name', '')} ({app.app_user.get('email', '')})"
        return page(
            "Jira Cloud for Intercom",
            f"""<p class="status" id="install-status">Installed</p>
<h2>App info</h2><table>
<tr><th>Jira site</th><td id="jira-site">{esc(app.jira_url)}</td></tr>
<tr><th>App user</th><td id="app-user">{esc(who)}</td></tr>
<tr><th>App user account id</th><td id="app-user-account-id">{esc(app.app_user.get("account_id", ""))}</td></tr>
<tr><th>Installed by</th><td id="installed-by">{esc(installer.name if installer else app.installed_by)}</td></tr>
</table><form method="post" action="{app_path(state)}/uninstall">
<button type="submit" id="uninstall">Uninstall</button></form>""",
            brand=BRAND,
        )

    async def uninstall(request: Request) -> Response:
        state = workspace(world)
        admin = _admin(request, state)
        if admin is None:
            return _to_login(request)
        with world.lock:
            app = state.jira_app
            if app is not None and app.installed:
                token = state.tokens.get(app.intercom_token)
                if token is not None:
                    token.active = False
                app.history.append(
                    {"event": "uninstalled", "by": admin.id, "at": int(time.time()), "app_user": dict(app.app_user)}
                )
                app.installed, app.app_user, app.intercom_token = False, {}, ""
                app.jira_access_token = app.jira_refresh_token = ""
        return RedirectResponse(app_path(state), status_code=303)

    async def install(request: Request) -> Response:
        state = workspace(world)
        admin = _admin(request, state)
        if admin is None:
            return _to_login(request)
        app = state.jira_app
        if app is None:
            return page("Jira Cloud for Intercom", "<p>This app is not available in this workspace.</p>", 404, BRAND)
        nonce = secrets.token_urlsafe(16)
        with world.lock:
            state.pending[nonce] = {"admin_id": admin.id, "purpose": "jira-install"}
        callback = str(request.base_url).rstrip("/") + "/a/apps/jira/callback"
        query = urlencode(
            {
                "audience": "api.atlassian.com",
                "client_id": app.client_id,
                "scope": JIRA_SCOPES,
                "redirect_uri": callback,
                "state": nonce,
                "response_type": "code",
                "prompt": "consent",
            }
        )
        return RedirectResponse(f"{app.jira_url}/authorize?{query}", status_code=303)

    async def jira_callback(request: Request) -> Response:
        state = workspace(world)
        q = request.query_params
        with world.lock:
            req = state.pending.pop(q.get("state", ""), None)
        app = state.jira_app
        if req is None or req.get("purpose") != "jira-install" or app is None:
            return page("Installation failed", "<p>The installation request expired. Try again.</p>", 400, BRAND)
        if q.get("error") or not q.get("code"):
            return page("Installation cancelled", f"<p>Jira said: {esc(q.get('error', 'no code'))}</p>", 400, BRAND)
        callback = str(request.base_url).rstrip("/") + "/a/apps/jira/callback"
        try:
            user, tokens = await _jira_exchange(app.jira_url, app.client_id, app.client_secret, q["code"], callback)
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            return page("Installation failed", f"<p>Could not connect to Jira: {esc(exc)}</p>", 502, BRAND)
        with world.lock:
            app.installed, app.installed_by, app.installed_at = True, req["admin_id"], int(time.time())
            app.app_user = user
            app.jira_access_token, app.jira_refresh_token = tokens
            app.intercom_token = state.issue_token(req["admin_id"], "jira-cloud-for-intercom")
            app.history.append(
                {"event": "installed", "by": req["admin_id"], "at": app.installed_at, "app_user": dict(user)}
            )
        return RedirectResponse(app_path(state), status_code=303)

    return [
        Route("/admins/sign_in", sign_in, methods=["GET", "POST"]),
        Route("/admins/sign_out", sign_out, methods=["GET", "POST"]),
        Route("/oauth", oauth),
        Route("/oauth/authorize", oauth_decide, methods=["POST"]),
        Route("/a/apps/{id_code}/appstore/jira", app_info),
        Route("/a/apps/{id_code}/appstore/jira/uninstall", uninstall, methods=["POST"]),
        Route("/a/apps/{id_code}/appstore/jira/install", install, methods=["POST"]),
        Route("/a/apps/jira/callback", jira_callback),
    ]


async def _jira_exchange(
    jira_url: str, client_id: str, secret: str, code: str, redirect_uri: str
) -> tuple[dict[str, str], tuple[str, str]]:
    """Code -> tokens at Atlassian, then who consented (accessible-resources, then /myself on that site)."""
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.post(
            f"{jira_url}/oauth/token",
            json={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": secret,
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        resp.raise_for_status()
        token = resp.json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        sites = (await client.get(f"{jira_url}/oauth/token/accessible-resources", headers=auth)).json()
        me = await client.get(f"{jira_url}/ex/jira/{sites[0]['id']}/rest/api/3/myself", headers=auth)
        me.raise_for_status()
        data = me.json()
    user = {"account_id": data["accountId"], "email": data.get("emailAddress", ""), "name": data["displayName"]}
    return user, (token["access_token"], token.get("refresh_token", ""))
