"""Jira Cloud projects and their permission schemes (by group), and the bulk permission check
``POST /rest/api/3/permissions/check`` (operation getBulkPermissions), answered as the official spec has it.

Scenario: ``jira.projects: [{id: 10000, key: SUP, name: Support, permissions: {BROWSE_PROJECTS: [group, ...]}}]``.
A user has a project permission on a project when one of their groups is granted it by the project's scheme.
Checking another account's permissions needs a Jira administrator (403 otherwise, as the spec says).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.jira.rest import PERMISSIONS, _authenticate
from sandbox.jira.state import JiraCloud, SeedError, _check_keys, _req, site
from sandbox.jira.web import jira_error, parse_json_body
from sandbox.world import World

VENDOR_KEY = "jira_projects"
ONLY_ADMINS = "Only Jira administrators can perform this operation."


@dataclass
class Project:
    id: int
    key: str
    name: str
    grants: dict[str, set[str]] = field(default_factory=dict)  # permission key -> group names


def projects(world: World) -> dict[int, Project]:
    found = world.vendors.get(VENDOR_KEY)
    return found if isinstance(found, dict) else {}


def seed_projects(world: World, state: JiraCloud, items: Any) -> None:
    found: dict[int, Project] = {}
    for i, p in enumerate(items or []):
        w = f"jira.projects[{i}]"
        p = _check_keys(p, {"id", "key", "name", "permissions"}, w)
        project = Project(int(_req(p, "id", w)), str(_req(p, "key", w)), str(_req(p, "name", w)))
        for key, groups in (p.get("permissions") or {}).items():
            if key not in PERMISSIONS or PERMISSIONS[key][2] != "PROJECT":
                raise SeedError(f"{w}.permissions: {key!r} is not a project permission")
            unknown = [g for g in groups if g not in state.groups]
            if unknown:
                raise SeedError(f"{w}.permissions.{key}: unknown group(s) {unknown}")
            project.grants[key] = set(groups)
        found[project.id] = project
    with world.lock:
        world.vendors[VENDOR_KEY] = found


def _ids(values: Any, name: str) -> list[int] | str:
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return f"{name} must be a list of integer IDs"
    return list(dict.fromkeys(values))


def routes(world: World) -> list[BaseRoute]:
    async def check(request: Request) -> Response:
        state = site(world)
        me = _authenticate(request, state, "read:jira-user")
        if isinstance(me, Response):
            return me
        data, problem = parse_json_body(await request.body())
        if problem:
            return jira_error(400, [problem])
        if not isinstance(data, dict):
            return jira_error(400, ["Request body must be a JSON object."])
        unknown = sorted(set(data) - {"accountId", "globalPermissions", "projectPermissions"})
        if unknown:
            return jira_error(400, [f'Unrecognized field "{unknown[0]}" (class BulkPermissionsRequestBean)'])
        account_id = data.get("accountId") or me.account_id
        user = state.users.get(str(account_id))
        if user is None:
            return jira_error(400, [], {"accountId": "An invalid account ID is provided."})
        if user.account_id != me.account_id and not state.is_admin(me):
            return jira_error(403, [ONLY_ADMINS])
        bad: dict[str, str] = {}
        wanted_global = data.get("globalPermissions") or []
        for key in wanted_global:
            if key not in PERMISSIONS or PERMISSIONS[key][2] != "GLOBAL":
                bad[str(key)] = "Unrecognized permission"
        granted_global = [k for k in wanted_global if k not in bad and (state.is_admin(user) or not PERMISSIONS[k][3])]
        out: list[dict[str, Any]] = []
        for item in data.get("projectPermissions") or []:
            if not isinstance(item, dict) or not item.get("permissions"):
                return jira_error(400, ["projectPermissions must name at least one project permission."])
            ids = _ids(item.get("projects"), "projects")
            if isinstance(ids, str):
                return jira_error(400, [ids])
            issues = _ids(item.get("issues"), "issues")
            if isinstance(issues, str):
                return jira_error(400, [issues])
            scope = [projects(world)[i] for i in ids if i in projects(world)] if ids else list(projects(world).values())
            for key in item["permissions"]:
                if key not in PERMISSIONS or PERMISSIONS[key][2] != "PROJECT":
                    bad[str(key)] = "Unrecognized permission"
                    continue
                allowed = [p.id for p in scope if user.groups & p.grants.get(key, set())]
                out.append({"permission": key, "projects": allowed, "issues": []})
        if bad:
            return jira_error(400, [], bad)
        return JSONResponse({"globalPermissions": granted_global, "projectPermissions": out})

    return [
        Route("/rest/api/3/permissions/check", check, methods=["POST"]),
        Route("/ex/jira/{cloudid}/rest/api/3/permissions/check", check, methods=["POST"]),
    ]
