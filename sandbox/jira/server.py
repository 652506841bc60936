"""Jira Server/Data Center stand-in: REST v2 with Basic auth (username:password) or a personal access token
(Bearer), group membership, PATs, a login page, and the Salesforce connector's Server variant.

Python API: ``server_site(world)`` (a ``JiraServer``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.connectors.jira_app import connector_routes
from sandbox.faults import FaultRule
from sandbox.httpkit import read_params
from sandbox.jira.rest import avatars
from sandbox.jira.state import SeedError, _check_keys, _req
from sandbox.jira.web import basic_credentials, bearer_token, esc, hidden, jira_error, jira_fault, page, parse_json_body
from sandbox.world import World

VENDOR_KEY = "jira_server"
COOKIE = "JSESSIONID"
ADMINS = frozenset({"jira-administrators", "jira-system-administrators"})


@dataclass
class ServerUser:
    name: str  # the username
    key: str
    email: str
    display_name: str
    password: str
    active: bool = True
    groups: set[str] = field(default_factory=set)
    pats: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, token)


@dataclass
class JiraServer:
    base_url: str
    users: dict[str, ServerUser] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)
    sessions: dict[str, str] = field(default_factory=dict)


def server_site(world: World) -> JiraServer:
    state = world.vendors.get(VENDOR_KEY)
    if not isinstance(state, JiraServer):
        raise LookupError("the Jira Server stand-in is not seeded (scenario section 'jira_server')")
    return state


def seed(world: World, scenario: dict[str, Any]) -> None:
    section = scenario.get("jira_server")
    if not section:
        return
    section = _check_keys(section, {"groups", "users", "salesforce_connector"}, "jira_server")
    state = JiraServer(world.urls.get("jira_server", ""), groups={str(g) for g in section.get("groups") or []})
    for i, u in enumerate(section.get("users") or []):
        w = f"jira_server.users[{i}]"
        u = _check_keys(u, {"username", "key", "email", "name", "password", "active", "groups", "pats"}, w)
        user = ServerUser(
            str(_req(u, "username", w)),
            str(u.get("key") or f"JIRAUSER{10000 + i}"),
            str(_req(u, "email", w)),
            str(_req(u, "name", w)),
            str(u.get("password", "")),
            bool(u.get("active", True)),
        )
        for g in u.get("groups") or []:
            if g not in state.groups:
                raise SeedError(f"{w}.groups: unknown group {g!r}; declare it under jira_server.groups")
            user.groups.add(str(g))
        for j, p in enumerate(u.get("pats") or []):
            p = _check_keys(p, {"id", "name", "token"}, f"{w}.pats[{j}]")
            user.pats[str(p.get("id", j + 1))] = (str(p.get("name", "token")), str(_req(p, "token", f"{w}.pats[{j}]")))
        state.users[user.name] = user
    with world.lock:
        world.vendors[VENDOR_KEY] = state


def user_json(state: JiraServer, user: ServerUser, expand: str = "") -> dict[str, Any]:
    groups = sorted(user.groups)
    return {
        "self": f"{state.base_url}/rest/api/2/user?username={user.name}",
        "key": user.key,
        "name": user.name,
        "emailAddress": user.email,
        "avatarUrls": avatars(user.email),
        "displayName": user.display_name,
        "active": user.active,
        "deleted": False,
        "timeZone": "Europe/London",
        "locale": "en_UK",
        "groups": {
            "size": len(groups),
            "items": [{"name": g, "self": f"{state.base_url}/rest/api/2/group?groupname={g}"} for g in groups]
            if "groups" in expand
            else [],
        },
        "applicationRoles": {"size": 1, "items": []},
        "expand": "groups,applicationRoles",
    }


def _auth(request: Request, state: JiraServer) -> ServerUser | None:
    creds = basic_credentials(request)
    if creds:
        user = state.users.get(creds[0])
        ok = user is not None and bool(user.password) and hmac.compare_digest(user.password, creds[1])
        return user if ok and user and user.active else None
    token = bearer_token(request)
    if token:
        for user in state.users.values():
            if user.active and any(hmac.compare_digest(t, token) for _, t in user.pats.values()):
                return user
        return None
    user = state.users.get(state.sessions.get(request.cookies.get(COOKIE, ""), ""))
    return user if user and user.active else None


def routes(world: World) -> list[BaseRoute]:
    def api(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            state = server_site(world)
            me = _auth(request, state)
            if me is None:
                return jira_error(
                    401, ["You are not authenticated. Authentication required to perform this operation."]
                )
            result: Response = await handler(request, state, me)
            return result

        return run

    def target(request: Request, state: JiraServer) -> ServerUser | Response:
        name = request.query_params.get("username") or request.query_params.get("key")
        if not name:
            return jira_error(400, ["The username query parameter was not provided"])
        user = state.users.get(name) or next((u for u in state.users.values() if u.key == name), None)
        return user if user else jira_error(404, [f"The user named '{name}' does not exist"])

    async def myself(request: Request, state: JiraServer, me: ServerUser) -> Response:
        return JSONResponse(user_json(state, me, request.query_params.get("expand", "")))

    async def get_user(request: Request, state: JiraServer, me: ServerUser) -> Response:
        user = target(request, state)
        return (
            user
            if isinstance(user, Response)
            else JSONResponse(user_json(state, user, request.query_params.get("expand", "")))
        )

    async def group_user(request: Request, state: JiraServer, me: ServerUser) -> Response:
        if not me.groups & ADMINS:
            return jira_error(403, ["You do not have permission to perform this operation."])
        group = request.query_params.get("groupname", "")
        if group not in state.groups:
            return jira_error(404, [f"Group '{group}' does not exist."])
        if request.method == "DELETE":
            user = target(request, state)
            if isinstance(user, Response):
                return user
            with world.lock:
                user.groups.discard(group)
            return Response(status_code=200)
        data, problem = parse_json_body(await request.body())
        if problem or not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return jira_error(400, [problem or "You must specify the name of the user."])
        found = state.users.get(data["name"])
        if found is None:
            return jira_error(404, [f"The user named '{data['name']}' does not exist"])
        with world.lock:
            found.groups.add(group)
        return JSONResponse(
            {
                "name": group,
                "self": f"{state.base_url}/rest/api/2/group?groupname={group}",
                "users": {"size": 0, "items": []},
                "expand": "users",
            },
            status_code=201,
        )

    async def pats(request: Request, state: JiraServer, me: ServerUser) -> Response:
        if request.method == "POST":
            params = await read_params(request)
            token = "NjE" + secrets.token_urlsafe(30)
            pid = str(max((int(k) for k in me.pats if k.isdigit()), default=0) + 1)
            with world.lock:
                me.pats[pid] = (str(params.get("name", "token")), token)
            return JSONResponse({"id": int(pid), "name": me.pats[pid][0], "rawToken": token}, status_code=201)
        return JSONResponse([{"id": int(k) if k.isdigit() else k, "name": n} for k, (n, _) in me.pats.items()])

    async def delete_pat(request: Request, state: JiraServer, me: ServerUser) -> Response:
        with world.lock:
            if me.pats.pop(request.path_params["pid"], None) is None:
                return jira_error(404, ["Token not found."])
        return Response(status_code=204)

    async def login(request: Request) -> Response:
        state = server_site(world)
        params = await read_params(request)
        target_url = str(params.get("os_destination", "/"))
        target_url = target_url if target_url.startswith("/") and not target_url.startswith("//") else "/"
        if request.method == "POST":
            user = state.users.get(str(params.get("os_username", "")))
            if (
                user
                and user.active
                and user.password
                and hmac.compare_digest(user.password, str(params.get("os_password")))
            ):
                sid = secrets.token_urlsafe(24)
                with world.lock:
                    state.sessions[sid] = user.name
                response = RedirectResponse(target_url, status_code=303)
                response.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
                return response
        err = (
            '<p class="error">Sorry, your username and password are incorrect.</p>' if request.method == "POST" else ""
        )
        return page(
            "Log in",
            f"""{err}<form method="post" action="/login.jsp">{hidden({"os_destination": target_url})}
<label>Username <input name="os_username" id="login-form-username"></label>
<label>Password <input name="os_password" id="login-form-password" type="password"></label>
<button type="submit" id="login-form-submit">Log In</button></form>""",
            401 if err else 200,
            "Jira",
        )

    def who(request: Request) -> str | None:
        state = server_site(world)
        user = state.users.get(state.sessions.get(request.cookies.get(COOKIE, ""), ""))
        return user.name if user else None

    def to_login(request: Request) -> Response:
        target_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login.jsp?" + urlencode({"os_destination": target_url}), status_code=302)

    out: list[BaseRoute] = [
        Route("/login.jsp", login, methods=["GET", "POST"]),
        Route("/rest/api/2/myself", api(myself)),
        Route("/rest/api/2/user", api(get_user)),
        Route("/rest/api/2/group/user", api(group_user), methods=["POST", "DELETE"]),
        Route("/rest/pat/latest/tokens", api(pats), methods=["GET", "POST"]),
        Route("/rest/pat/latest/tokens/{pid}", api(delete_pat), methods=["DELETE"]),
    ]
    from sandbox.connectors.jira_app import VENDOR_KEY as CONNECTORS

    if "server" in world.vendors.get(CONNECTORS, {}):
        out.extend(connector_routes(world, "server", who, to_login))
    return out


def fault_response(rule: FaultRule) -> Response:
    return jira_fault(rule)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return jira_error(status if status in (404, 405) else 500, [esc("Not found." if status == 404 else "Error.")])


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: _http_error, Exception: _http_error}
