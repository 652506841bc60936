"""Jira Cloud stand-in: the site's REST v3, Atlassian's 3LO (auth.atlassian.com) and api.atlassian.com paths.

One port serves all three hosts; their paths do not collide. Python API: ``sandbox.jira.state.site(world)``.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sandbox.faults import FaultRule
from sandbox.jira import admin_api, invite, oauth, permissions, rest
from sandbox.jira.state import VENDOR_KEY, JiraCloud, SeedError, seed_cloud, site
from sandbox.jira.web import jira_error, jira_fault
from sandbox.world import World

__all__ = ["EXCEPTION_HANDLERS", "JiraCloud", "SeedError", "fault_response", "routes", "seed", "site"]


def seed(world: World, scenario: dict[str, Any]) -> None:
    section = scenario.get("jira")
    if not section:
        return
    state = seed_cloud(world, section)
    with world.lock:
        world.vendors[VENDOR_KEY] = state
    permissions.seed_projects(world, state, section.get("projects"))


def routes(world: World) -> list[BaseRoute]:
    return [
        *oauth.routes(world), *rest.routes(world), *permissions.routes(world), *invite.routes(world),
        *admin_api.routes(world),
    ]  # fmt: skip


def fault_response(rule: FaultRule) -> Response:
    return jira_fault(rule)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return jira_error(404, ["Not found."])
    if status == 405:
        return jira_error(405, ["Method not allowed."])
    return jira_error(status, ["Internal server error."])


async def _unexpected(request: Request, exc: Exception) -> Response:
    return jira_error(500, ["Internal server error."])


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: _http_error, Exception: _unexpected}
