"""``/api/<method>``: token check, dispatch, and Slack's error conventions. Never a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.slack import chat, conversations, users
from sandbox.slack.errors import ApiError, RateLimited, error_response, ratelimited_response, unknown_method_response
from sandbox.slack.request import ApiRequest, read_request
from sandbox.slack.state import SlackState

log = logging.getLogger(__name__)

Handler = Callable[[SlackState, ApiRequest], dict[str, Any]]


def auth_test(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    return {
        "ok": True,
        "url": f"https://{state.team.domain}.slack.com/",
        "team": state.team.name,
        "user": state.bot.name,
        "team_id": state.team.id,
        "user_id": state.bot.user_id,
        "bot_id": state.bot.bot_id,
        "is_enterprise_install": False,
    }


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat.post_message,
    "chat.update": chat.update,
    "chat.postEphemeral": chat.post_ephemeral,
    "chat.getPermalink": chat.get_permalink,
    "conversations.open": conversations.open_conversation,
    "conversations.history": conversations.history,
    "conversations.replies": conversations.replies,
    "conversations.info": conversations.info,
    "users.info": users.info,
    "users.lookupByEmail": users.lookup_by_email,
    "usergroups.list": users.usergroups_list,
    "usergroups.users.list": users.usergroups_users_list,
}


def make_endpoint(state: SlackState) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        method = request.path_params["method"]
        handler = METHODS.get(method)
        if handler is None:
            return unknown_method_response(method)
        try:
            req = await read_request(request, method)
            if not req.token:
                raise ApiError("not_authed")
            if req.token != state.bot.token:
                raise ApiError("invalid_auth")
            return JSONResponse(handler(state, req))
        except ApiError as exc:
            return error_response(exc.code, **exc.extra)
        except RateLimited as exc:
            return ratelimited_response(exc.retry_after)
        except Exception:
            log.exception("slack stand-in: %s failed", method)
            return error_response("fatal_error")

    return endpoint
