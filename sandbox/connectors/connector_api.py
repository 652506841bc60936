"""The connector's own REST resource that the Salesforce package calls with its API access token.

``GET /rest/salesforce-connector/1.0/connection`` with ``Authorization: Bearer <API access token>`` answers
which connection the token belongs to and which Salesforce user that connection runs as; 401 when the token
is unknown or no longer active (Revoke and a new Authorize deactivate it). The real package makes such a
call on every sync; the path is the stand-in's (the vendor does not publish it), the behaviour is what Baton
relies on: a token either works, as one Salesforce user, or it does not.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.jira.web import bearer_token
from sandbox.world import World

API_PATH = "/rest/salesforce-connector/1.0/connection"


def api_routes(world: World, variant: str) -> list[BaseRoute]:
    async def whoami(request: Request) -> Response:
        from sandbox.connectors.jira_app import find_api_token

        found = find_api_token(world, variant, bearer_token(request) or "")
        if found is None:
            return JSONResponse(
                {"errorMessages": ["The API access token is not valid. Copy a new one from Jira."], "errors": {}},
                status_code=401,
            )
        conn, tok = found
        return JSONResponse(
            {
                "connectionId": conn.id,
                "name": conn.name,
                "status": conn.status,
                "salesforceUserId": tok.salesforce_user_id,
                "salesforceUsername": tok.salesforce_username,
            }
        )

    return [Route(API_PATH, whoami)]
