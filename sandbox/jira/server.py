"""PLACEHOLDER: being written (issue 3). Replace this whole module."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from sandbox.faults import FaultRule
from sandbox.world import World


def seed(world: World, scenario: dict) -> None:  # type: ignore[type-arg]
    return None


def routes(world: World) -> list[BaseRoute]:
    return []


def fault_response(rule: FaultRule) -> Response:
    return JSONResponse({"error": rule.kind}, status_code=503)
