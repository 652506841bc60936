"""Intercom stand-in: api.intercom.io (``/me``, ``/auth/eagle/token``) and app.intercom.com pages, one port.

Python API: ``sandbox.intercom.state.workspace(world)``, ``sandbox.intercom.state.app_user(world)``.
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultRule
from sandbox.httpkit import read_params
from sandbox.intercom import pages
from sandbox.intercom.state import VENDOR_KEY, Admin, Workspace, app_user, seed_workspace, workspace
from sandbox.jira.web import bearer_token
from sandbox.world import World

__all__ = ["EXCEPTION_HANDLERS", "app_user", "fault_response", "routes", "seed", "workspace"]
VERSION = re.compile(r"^(\d+\.\d+|Unstable)$")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}
    return JSONResponse(body, status_code=status, headers=headers)


def seed(world: World, scenario: dict[str, Any]) -> None:
    section = scenario.get("intercom")
    if not section:
        return
    state = seed_workspace(world, section)
    with world.lock:
        world.vendors[VENDOR_KEY] = state


def admin_json(state: Workspace, admin: Admin) -> dict[str, Any]:
    return {
        "type": "admin",
        "id": admin.id,
        "email": admin.email,
        "name": admin.name,
        "email_verified": True,
        "job_title": admin.job_title,
        "away_mode_enabled": False,
        "away_mode_reassign": False,
        "has_inbox_seat": admin.has_inbox_seat,
        "team_ids": [],
        "avatar": {
            "type": "avatar",
            "image_url": "https://static.intercomassets.com/assets/default-avatars/admins/128.png",
        },
        "app": {
            "type": "app",
            "id_code": state.id_code,
            "name": state.name,
            "created_at": state.created_at,
            "secure": False,
            "identity_verification": False,
            "timezone": state.timezone,
            "region": state.region,
        },
    }


def routes(world: World) -> list[BaseRoute]:
    async def me(request: Request) -> Response:
        state = workspace(world)
        version = request.headers.get("intercom-version")
        if version is not None and not VERSION.match(version):
            return error(400, "intercom_version_invalid", f"The requested version could not be found: {version}")
        admin = state.admin_for_token(bearer_token(request) or "")
        if admin is None:
            return error(401, "unauthorized", "Access Token Invalid")
        return JSONResponse(admin_json(state, admin))

    async def eagle_token(request: Request) -> Response:
        state = workspace(world)
        params = await read_params(request)
        client = state.clients.get(str(params.get("client_id", "")))
        if client is None or not hmac.compare_digest(client.client_secret, str(params.get("client_secret", ""))):
            return error(401, "unauthorized", "Client credentials are invalid")
        with world.lock:
            found = state.codes.pop(str(params.get("code", "")), None)
            if found is None or found[0] != client.client_id:
                return error(400, "parameter_invalid", "The authorization code is invalid or has already been used")
            token = state.issue_token(found[1], client.client_id)
        return JSONResponse({"token": token, "access_token": token, "token_type": "Bearer"})

    return [
        Route("/me", me),
        Route("/auth/eagle/token", eagle_token, methods=["POST"]),
        *pages.routes(world),
    ]


def fault_response(rule: FaultRule) -> Response:
    headers = {
        "X-RateLimit-Limit": "10000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1893456000",
        "Retry-After": str(rule.retry_after),
    }
    if rule.kind == "ratelimit":
        return error(429, "rate_limit_exceeded", "You have exceeded the rate limit. Please try again later.", headers)
    return error(
        503,
        "service_unavailable",
        "Sorry, the API service is temporarily unavailable",
        {"Retry-After": str(rule.retry_after)},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error(404, "not_found", "Resource Not Found")
    if status == 405:
        return error(405, "method_not_allowed", "Method Not Allowed")
    return error(500, "server_error", "Server error")


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: _http_error, Exception: _http_error}
