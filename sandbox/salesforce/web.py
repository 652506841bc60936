"""HTTP helpers shared by the Salesforce routes: the org of a world, replies, Bearer auth."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.salesforce.auth import Session
from sandbox.salesforce.errors import SfError, invalid_session
from sandbox.salesforce.org import Org
from sandbox.world import World

VERSION_RE = re.compile(r"^v(\d{2})\.0$")
MIN_VERSION, MAX_VERSION = 20, 62
Record = dict[str, Any]


def org_of(world: World) -> Org:
    org = world.vendors.get("salesforce")
    if not isinstance(org, Org):
        raise RuntimeError("the Salesforce stand-in is not seeded")
    return org


def rest_reply(org: Org, body: Any, status: int = 200) -> Response:
    headers = {"Sforce-Limit-Info": org.limit_info()}
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def error_reply(org: Org | None, error: SfError) -> Response:
    headers = {"Sforce-Limit-Info": org.limit_info()} if org else {}
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def client_ip(request: Request) -> str:
    """The login's source IP. The stand-in honours ``X-Forwarded-For`` (its first address) so that a test can
    log in "from" any address; Salesforce itself sees the connecting address."""
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    if forwarded:
        return forwarded
    return request.client.host if request.client else "127.0.0.1"


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def authenticate(org: Org, request: Request) -> tuple[Session, Record]:
    """The session and user behind the request's Bearer token, or 401 INVALID_SESSION_ID."""
    token = bearer(request)
    found = org.session_for(token) if token else None
    if found is None:
        raise invalid_session()
    session, user = found
    if not org.api_enabled(user):
        raise SfError(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")
    return session, user


def check_version(version: str) -> str:
    match = VERSION_RE.match(version)
    if match is None or not MIN_VERSION <= int(match.group(1)) <= MAX_VERSION:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    return version
