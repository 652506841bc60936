"""Jira Cloud REST v3: the user and group calls Baton makes, under the site URL and under /ex/jira/<cloudid>."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.jira import invite
from sandbox.jira.state import JiraCloud, JiraGroup, JiraUser, site
from sandbox.jira.web import basic_credentials, bearer_token, jira_error, parse_json_body
from sandbox.world import World

Handler = Callable[[Request, JiraCloud, JiraUser, str], Awaitable[Response]]
AVATAR = "https://secure.gravatar.com/avatar/{}?d=mm&s={}"
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
NO_USER = "Specified user does not exist or you do not have required permissions"
NOT_ADMIN = "You do not have permission to perform this operation. You must be a Jira administrator."

# key -> (id, name, type, admin only?)
PERMISSIONS: dict[str, tuple[str, str, str, bool]] = {
    "ADMINISTER": ("0", "Administer Jira", "GLOBAL", True),
    "SYSTEM_ADMIN": ("44", "Jira System Administrators", "GLOBAL", True),
    "USER_PICKER": ("27", "Browse users and groups", "GLOBAL", False),
    "CREATE_SHARED_OBJECTS": ("22", "Share dashboards and filters", "GLOBAL", False),
    "MANAGE_GROUP_FILTER_SUBSCRIPTIONS": ("24", "Manage group filter subscriptions", "GLOBAL", True),
    "BULK_CHANGE": ("33", "Make bulk changes", "GLOBAL", False),
    "BROWSE_PROJECTS": ("10", "Browse Projects", "PROJECT", False),
    "CREATE_ISSUES": ("11", "Create Issues", "PROJECT", False),
    "EDIT_ISSUES": ("12", "Edit Issues", "PROJECT", False),
    "ASSIGN_ISSUES": ("13", "Assign Issues", "PROJECT", False),
    "ADD_COMMENTS": ("15", "Add Comments", "PROJECT", False),
    "ADMINISTER_PROJECTS": ("23", "Administer Projects", "PROJECT", True),
}
NEW_USER_FIELDS = {
    "emailAddress",
    "products",
    "displayName",
    "name",
    "password",
    "key",
    "self",
    "applicationKeys",
    "notification",
}
PRODUCTS = {"jira-software", "jira-servicedesk", "jira-product-discovery", "jira-core"}


def avatars(email: str) -> dict[str, str]:
    digest = uuid.uuid5(uuid.NAMESPACE_DNS, email.lower()).hex
    return {f"{n}x{n}": AVATAR.format(digest, n) for n in (48, 24, 16, 32)}


def group_name_json(group: JiraGroup, base: str) -> dict[str, str]:
    return {"name": group.name, "groupId": group.group_id, "self": f"{base}/group?groupId={group.group_id}"}


def user_json(state: JiraCloud, user: JiraUser, base: str, expand: str | None = "") -> dict[str, Any]:
    groups = sorted(user.groups)
    roles = ["jira-software"] if user.groups - {"site-admins"} else []
    data = user_details_json(user, base) | {"locale": user.locale}
    if expand is not None:
        items = (
            [group_name_json(state.groups[g], base) for g in groups if g in state.groups] if "groups" in expand else []
        )
        role_items = [{"key": r, "name": "Jira"} for r in roles] if "applicationRoles" in expand else []
        data["groups"] = {"size": len(groups), "items": items}
        data["applicationRoles"] = {"size": len(roles), "items": role_items}
        data["expand"] = "groups,applicationRoles"
    return data


def user_details_json(user: JiraUser, base: str) -> dict[str, Any]:
    return {
        "self": f"{base}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": user.account_type,
        "emailAddress": user.email,
        "avatarUrls": avatars(user.email),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
    }


def _authenticate(request: Request, state: JiraCloud, scope: str) -> JiraUser | Response:
    cloud_id = request.path_params.get("cloudid")
    if cloud_id is not None:
        if cloud_id != state.cloud_id:
            return jira_error(404, ["Site temporarily unavailable or does not exist."])
        tok = state.bearer(bearer_token(request) or "")
        if tok is None:
            return jira_error(401, [NOT_AUTHENTICATED])
        if scope not in tok.scopes and "manage:jira-configuration" not in tok.scopes:
            return jira_error(401, ["Unauthorized; scope does not match"])
        user = state.users.get(tok.account_id)
    else:
        creds = basic_credentials(request)
        user = state.user_by_email(creds[0]) if creds else None
        if user is not None and not any(hmac.compare_digest(t.token, creds[1]) for t in user.api_tokens if creds):
            user = None
    if user is None or not user.active:
        return jira_error(401, [NOT_AUTHENTICATED])
    return user


def routes(world: World) -> list[BaseRoute]:
    def endpoint(handler: Handler, scope: str) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            state = site(world)
            who = _authenticate(request, state, scope)
            if isinstance(who, Response):
                return who
            base = str(request.base_url).rstrip("/")
            if "cloudid" in request.path_params:
                base += f"/ex/jira/{request.path_params['cloudid']}"
            return await handler(request, state, who, base + "/rest/api/3")

        return run

    def find_group(request: Request, state: JiraCloud) -> JiraGroup | Response:
        q = request.query_params
        if not q.get("groupname") and not q.get("groupId"):
            return jira_error(400, ["You must specify a group name or a group ID."])
        group = state.group(q.get("groupname")) if q.get("groupname") else state.group(group_id=q.get("groupId"))
        if group is None:
            return jira_error(404, ["Specified group does not exist."])
        return group

    def target_user(request: Request, state: JiraCloud) -> JiraUser | Response:
        account_id = request.query_params.get("accountId")
        if not account_id:
            return jira_error(400, ["The query parameter 'accountId' is required."], {"accountId": "required"})
        user = state.users.get(account_id)
        return user if user is not None else jira_error(404, [NO_USER])

    async def myself(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        return JSONResponse(user_json(state, me, base, request.query_params.get("expand", "")))

    async def get_user(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        user = target_user(request, state)
        if isinstance(user, Response):
            return user
        return JSONResponse(user_json(state, user, base, request.query_params.get("expand", "")))

    async def create_user(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        if not state.is_admin(me):
            return jira_error(403, [NOT_ADMIN])
        data, problem = parse_json_body(await request.body())
        if problem:
            return jira_error(400, [problem])
        if not isinstance(data, dict):
            return jira_error(400, ["Request body must be a JSON object."])
        unknown = sorted(set(data) - NEW_USER_FIELDS)
        if unknown:
            return jira_error(
                400, [f'Unrecognized field "{unknown[0]}" (class NewUserDetails), not marked as ignorable']
            )
        email = data.get("emailAddress")
        if not isinstance(email, str) or "@" not in email:
            return jira_error(400, [], {"emailAddress": "You must specify a valid email address."})
        products = data.get("products")
        if not isinstance(products, list) or any(p not in PRODUCTS for p in products):
            return jira_error(400, [], {"products": f"products must be a list of: {', '.join(sorted(PRODUCTS))}"})
        with world.lock:
            existing = state.user_by_email(email)
            if existing is not None:
                return JSONResponse(user_json(state, existing, base), status_code=201)
            account_id = "712020:" + str(uuid.uuid4())
            name = str(data.get("displayName") or email.split("@")[0])
            user = JiraUser(account_id, email, name)
            if products and "jira-software-users" in state.groups:
                user.groups.add("jira-software-users")
            state.users[account_id] = user
            invite.send_invitation(world, state, user, me)
        return JSONResponse(user_json(state, user, base), status_code=201)

    async def add_to_group(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        if not state.is_admin(me):
            return jira_error(403, [NOT_ADMIN])
        group = find_group(request, state)
        if isinstance(group, Response):
            return group
        data, problem = parse_json_body(await request.body())
        if problem:
            return jira_error(400, [problem])
        if not isinstance(data, dict) or not isinstance(data.get("accountId"), str):
            return jira_error(400, [], {"accountId": "You must specify the accountId of the user."})
        unknown = sorted(set(data) - {"accountId", "name"})
        if unknown:
            return jira_error(
                400, [f'Unrecognized field "{unknown[0]}" (class UpdateUserToGroupBean), not marked as ignorable']
            )
        with world.lock:
            user = state.users.get(data["accountId"])
            if user is None:
                return jira_error(400, ["Cannot add user. The user does not exist."])
            if group.name in user.groups:
                return jira_error(
                    400, [f"Cannot add user. '{user.display_name}' is already a member of '{group.name}'."]
                )
            user.groups.add(group.name)
        return JSONResponse(group_json(state, group, base), status_code=201)

    async def remove_from_group(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        if not state.is_admin(me):
            return jira_error(403, [NOT_ADMIN])
        group = find_group(request, state)
        if isinstance(group, Response):
            return group
        user = target_user(request, state)
        if isinstance(user, Response):
            return user
        with world.lock:
            if group.name not in user.groups:
                return jira_error(
                    400, [f"Cannot remove user. '{user.display_name}' is not a member of '{group.name}'."]
                )
            user.groups.discard(group.name)
        return Response(status_code=200)

    async def user_groups(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        user = target_user(request, state)
        if isinstance(user, Response):
            return user
        return JSONResponse([group_name_json(state.groups[g], base) for g in sorted(user.groups) if g in state.groups])

    async def my_permissions(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        wanted = [k.strip() for k in request.query_params.get("permissions", "").split(",") if k.strip()]
        if not wanted:
            return jira_error(
                400, ["The permissions query parameter is required: a comma-separated list of permission keys."]
            )
        unknown = [k for k in wanted if k not in PERMISSIONS]
        if unknown:
            return jira_error(404, [f"No permissions with key(s) {', '.join(unknown)} found."])
        admin = state.is_admin(me)
        member = bool(me.groups)
        out = {}
        for key in wanted:
            pid, name, kind, admin_only = PERMISSIONS[key]
            out[key] = {
                "id": pid,
                "key": key,
                "name": name,
                "type": kind,
                "description": name + ".",
                "havePermission": admin or (member and not admin_only),
            }
        return JSONResponse({"permissions": out})

    async def search(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        q = request.query_params
        query, account_id = q.get("query", "").lower(), q.get("accountId")
        if not query and not account_id:
            return jira_error(400, ["One of 'query' or 'accountId' parameters must be provided."])
        try:
            start, limit = int(q.get("startAt", "0")), int(q.get("maxResults", "50"))
        except ValueError:
            return jira_error(400, ["startAt and maxResults must be integers."])
        found = [
            u
            for u in state.users.values()
            if (account_id and u.account_id == account_id)
            or (query and (u.email.lower().startswith(query) or query in u.display_name.lower()))
        ]
        return JSONResponse([user_json(state, u, base, None) for u in found[start : start + limit]])

    async def group_members(request: Request, state: JiraCloud, me: JiraUser, base: str) -> Response:
        group = find_group(request, state)
        if isinstance(group, Response):
            return group
        q = request.query_params
        try:
            start, limit = int(q.get("startAt", "0")), int(q.get("maxResults", "50"))
        except ValueError:
            return jira_error(400, ["startAt and maxResults must be integers."])
        inactive = q.get("includeInactiveUsers", "false").lower() == "true"
        members = [u for u in state.users.values() if group.name in u.groups and (inactive or u.active)]
        chunk = members[start : start + limit]
        return JSONResponse(
            {
                "self": f"{base}/group/member?groupId={group.group_id}&startAt={start}&maxResults={limit}",
                "maxResults": limit,
                "startAt": start,
                "total": len(members),
                "isLast": start + limit >= len(members),
                "values": [user_details_json(u, base) for u in chunk],
            }
        )

    table: list[tuple[str, Handler, str, list[str]]] = [
        ("/myself", myself, "read:jira-user", ["GET"]),
        ("/user", get_user, "read:jira-user", ["GET"]),
        ("/user", create_user, "manage:jira-configuration", ["POST"]),
        ("/group/user", add_to_group, "manage:jira-configuration", ["POST"]),
        ("/group/user", remove_from_group, "manage:jira-configuration", ["DELETE"]),
        ("/user/groups", user_groups, "read:jira-user", ["GET"]),
        ("/mypermissions", my_permissions, "read:jira-work", ["GET"]),
        ("/user/search", search, "read:jira-user", ["GET"]),
        ("/group/member", group_members, "manage:jira-configuration", ["GET"]),
    ]
    # One Route per path, dispatching on method, so an unsupported method gets Jira's 405, not a 404.
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for path, handler, scope, methods in table:
        for method in methods:
            by_path.setdefault(path, {})[method] = endpoint(handler, scope)

    def dispatcher(
        handlers: dict[str, Callable[[Request], Awaitable[Response]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            fn = handlers.get(request.method)
            if fn is None:
                return jira_error(405, [f"Method {request.method} is not allowed here."])
            return await fn(request)

        return run

    out: list[BaseRoute] = []
    for path, handlers in by_path.items():
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        out.append(Route("/rest/api/3" + path, dispatcher(handlers), methods=methods))
        out.append(Route("/ex/jira/{cloudid}/rest/api/3" + path, dispatcher(handlers), methods=methods))
    return out


def group_json(state: JiraCloud, group: JiraGroup, base: str) -> dict[str, Any]:
    members = [u for u in state.users.values() if group.name in u.groups]
    return {
        "name": group.name,
        "groupId": group.group_id,
        "self": f"{base}/group?groupId={group.group_id}",
        "users": {"size": len(members), "items": [], "max-results": 50, "start-index": 0, "end-index": 0},
        "expand": "users",
    }
