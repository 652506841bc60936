"""The Salesforce stand-in: SOAP login, OAuth 2.0 (with login and consent pages), the REST API
(SOQL query with paging, sobjects, passwords), call limits, e-mail verification and security tokens.

One base URL serves both login.salesforce.com and the org's instance. See docs/sandbox-salesforce.md.
Other stand-ins reach the org's Python API with ``org_of(world)`` (see ``Org``).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from sandbox.faults import FaultRule
from sandbox.salesforce import metadata, oauth, pages, rest, soap
from sandbox.salesforce.auth import ConnectedApp
from sandbox.salesforce.org import Org
from sandbox.salesforce.seed import build_org
from sandbox.salesforce.web import org_of
from sandbox.world import World

__all__ = ["EXCEPTION_HANDLERS", "ConnectedApp", "Org", "fault_response", "org_of", "routes", "seed"]


def seed(world: World, scenario: dict[str, Any]) -> None:
    """Build the org from ``scenario["salesforce"]`` and keep it in ``world.vendors["salesforce"]``."""
    org = build_org(world, scenario.get("salesforce"))
    with world.lock:
        world.vendors["salesforce"] = org


def routes(world: World) -> list[BaseRoute]:
    return [
        *soap.routes(world),
        *metadata.routes(world),
        *oauth.routes(world),
        *rest.routes(world),
        *pages.routes(world),
    ]


def fault_response(rule: FaultRule) -> Response:
    if rule.kind == "unavailable":
        return JSONResponse([{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}], status_code=503)
    # "limit" and "ratelimit" alike: Salesforce never answers 429.
    return JSONResponse(
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], status_code=403
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        body = [{"message": f"HTTP Method '{request.method}' not allowed.", "errorCode": "METHOD_NOT_ALLOWED"}]
    else:
        body = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
        status = 404
    return JSONResponse(body, status_code=status)


async def _crash(request: Request, exc: Exception) -> Response:
    # Salesforce's answer to its own bugs; never a traceback.
    return JSONResponse(
        [
            {
                "message": "An unexpected error occurred. Please include this ErrorId if you contact "
                "support: 1985927318-27791 (-1144857430)",
                "errorCode": "UNKNOWN_EXCEPTION",
            }
        ],
        status_code=500,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: _http_error, Exception: _crash}
