"""Slack stand-in: the Web API at ``/api/<method>``, a message store, and button clicks.

The real slack-sdk WebClient works against it: ``WebClient(token=..., base_url=urls["slack"] + "/api/")``.
State lives in ``world.vendors["slack"]`` (a ``SlackState``); see docs/sandbox-slack.md.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultRule
from sandbox.slack import control, page
from sandbox.slack.config import SlackScenarioError, parse_config
from sandbox.slack.errors import ratelimited_response
from sandbox.slack.interactivity import ClickError, ClickResult
from sandbox.slack.state import SlackState
from sandbox.slack.webapi import make_endpoint
from sandbox.world import World

__all__ = [
    "EXCEPTION_HANDLERS",
    "ClickError",
    "ClickResult",
    "SlackScenarioError",
    "SlackState",
    "fault_response",
    "routes",
    "seed",
    "state_of",
]

log = logging.getLogger(__name__)


def seed(world: World, scenario: dict[str, Any]) -> None:
    config = parse_config(scenario.get("slack"))
    state = SlackState(world, config)  # raises SlackScenarioError naming the key of a bad reference
    with world.lock:
        world.vendors["slack"] = state


def state_of(world: World) -> SlackState:
    state = world.vendors.get("slack")
    if not isinstance(state, SlackState):
        raise RuntimeError("the Slack stand-in is not seeded (start the sandbox first)")
    return state


def routes(world: World) -> list[BaseRoute]:
    state = state_of(world)
    api = make_endpoint(state)
    return [Route("/api/{method}", api, methods=["GET", "POST"]), *control.routes(state), *page.routes(state)]


def fault_response(rule: FaultRule) -> Response:
    if rule.kind in ("ratelimit", "limit"):
        return ratelimited_response(max(1, rule.retry_after))
    return JSONResponse({"ok": False, "error": "service_unavailable"}, status_code=503)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404 and request.url.path.startswith("/api/"):
        return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)
    if status == 405 and request.url.path.startswith("/api/"):
        return JSONResponse({"ok": False, "error": "invalid_post_type"}, status_code=200)
    return JSONResponse(
        {"ok": False, "error": "not_found" if status == 404 else "bad_request"},
        status_code=status if status < 500 else 400,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("slack stand-in: %s %s failed: %r", request.method, request.url.path, exc)
    return JSONResponse({"ok": False, "error": "fatal_error"}, status_code=200)


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: _http_error, Exception: _unexpected}
