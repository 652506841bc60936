"""Atlassian's organization admin API (api.atlassian.com, org API key as Bearer): a user's API tokens, disable.

Errors here are the admin API gateway's ``{"code": <status>, "message": "..."}``, not Jira's ErrorCollection.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_json
from sandbox.jira.state import JiraCloud, JiraUser, site
from sandbox.jira.web import bearer_token
from sandbox.world import World


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def _target(request: Request, state: JiraCloud) -> JiraUser | Response:
    key = bearer_token(request) or ""
    if not any(hmac.compare_digest(key, k) for k in state.org_api_keys):
        return _error(401, "Unauthorized")
    user = state.users.get(request.path_params["account_id"])
    return user if user is not None else _error(404, "User not found")


def routes(world: World) -> list[BaseRoute]:
    async def list_tokens(request: Request) -> Response:
        user = _target(request, site(world))
        if isinstance(user, Response):
            return user
        return JSONResponse(
            [
                {"id": t.id, "label": t.label, "createdAt": t.created_at, "lastAccess": t.last_access}
                for t in user.api_tokens
            ]
        )

    async def delete_token(request: Request) -> Response:
        user = _target(request, site(world))
        if isinstance(user, Response):
            return user
        token_id = request.path_params["token_id"]
        with world.lock:
            before = len(user.api_tokens)
            user.api_tokens = [t for t in user.api_tokens if t.id != token_id]
            if len(user.api_tokens) == before:
                return _error(404, "API token not found")
        return Response(status_code=204)

    async def disable(request: Request) -> Response:
        state = site(world)
        user = _target(request, state)
        if isinstance(user, Response):
            return user
        body = await read_json(request)
        message = body.get("message", "") if isinstance(body, dict) else ""
        with world.lock:
            user.active = False
            state.sessions = {s: a for s, a in state.sessions.items() if a != user.account_id}
            state.disabled_log.append({"accountId": user.account_id, "message": str(message)})
        return Response(status_code=204)

    async def enable(request: Request) -> Response:
        user = _target(request, site(world))
        if isinstance(user, Response):
            return user
        with world.lock:
            user.active = True
        return Response(status_code=204)

    return [
        Route("/users/{account_id}/manage/api-tokens", list_tokens),
        Route("/users/{account_id}/manage/api-tokens/{token_id}", delete_token, methods=["DELETE"]),
        Route("/users/{account_id}/manage/lifecycle/disable", disable, methods=["POST"]),
        Route("/users/{account_id}/manage/lifecycle/enable", enable, methods=["POST"]),
    ]
