"""Jotform stand-in: api.jotform.com (paths with and without /v1) and the form builder's Salesforce integration.

Python API: ``sandbox.jotform.state.account(world)``, ``sandbox.jotform.state.integration(world, form_id)``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultRule
from sandbox.httpkit import read_params
from sandbox.jira.sfclient import ensure_connected_app, grant, user_id_of
from sandbox.jotform import pages
from sandbox.jotform.state import VENDOR_KEY, Form, JotformAccount, account, integration, seed_account
from sandbox.world import World

__all__ = ["EXCEPTION_HANDLERS", "account", "fault_response", "integration", "routes", "seed"]
API = "https://api.jotform.com"
LIMIT = 1000


def envelope(
    content: Any,
    *,
    status: int = 200,
    message: str = "success",
    started: float | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    took = (time.perf_counter() - started) * 1000 if started else 1.0
    body = {
        "responseCode": status,
        "message": message,
        "content": content,
        "limit-left": LIMIT - 1,
        "duration": f"{took:.2f}ms",
    } | (extra or {})
    return JSONResponse(body, status_code=status)


def unauthorized(path: str) -> JSONResponse:
    return JSONResponse(
        {"responseCode": 401, "message": f"You're not authorized to use ({path}) ", "content": ""}, status_code=401
    )


def seed(world: World, scenario: dict[str, Any]) -> None:
    section = scenario.get("jotform")
    if not section:
        return
    state = seed_account(section)
    callback = world.urls.get("jotform", "") + pages.CALLBACK
    if "salesforce" in world.vendors:
        state.sf_client_id, state.sf_client_secret = ensure_connected_app(
            world, state.sf_app, state.sf_client_id, state.sf_client_secret, callback
        )
        for form in state.forms.values():
            sf = form.salesforce
            if sf.status == "active" and sf.salesforce_username:
                sf.salesforce_user_id = user_id_of(world, sf.salesforce_username)
                grant(world, state.sf_app, sf.salesforce_username)
    with world.lock:
        world.vendors[VENDOR_KEY] = state


def form_json(state: JotformAccount, form: Form) -> dict[str, Any]:
    return {
        "id": form.id,
        "username": state.username,
        "title": form.title,
        "height": "539",
        "status": "ENABLED",
        "created_at": form.created_at,
        "updated_at": form.created_at,
        "last_submission": None,
        "new": "0",
        "count": str(form.count),
        "type": "LEGACY",
        "favorite": "0",
        "archived": "0",
        "url": f"https://form.jotform.com/{form.id}",
    }


def routes(world: World) -> list[BaseRoute]:
    Handler = Callable[[Request, JotformAccount, str, float], Awaitable[Response]]

    def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            path = request.url.path.removeprefix("/v1")
            state = account(world)
            key = (
                request.headers.get("apikey")
                or request.query_params.get("apiKey")
                or request.query_params.get("apikey")
                or ""
            )
            if not any(hmac.compare_digest(key, k) for k in state.api_keys):
                return unauthorized(path)
            return await handler(request, state, path, started)

        return run

    async def user(request: Request, state: JotformAccount, path: str, started: float) -> Response:
        return envelope(
            {
                "username": state.username,
                "name": state.name,
                "email": state.email,
                "website": None,
                "time_zone": state.time_zone,
                "account_type": f"{API}/system/plan/ENTERPRISE",
                "status": "ACTIVE",
                "created_at": "2019-03-01 09:00:00",
                "updated_at": "2024-02-01 10:00:00",
                "usage": f"{API}/user/usage",
                "is_verified": "1",
                "company": "Acme",
            },
            started=started,
        )

    async def forms(request: Request, state: JotformAccount, path: str, started: float) -> Response:
        items = [form_json(state, f) for f in state.forms.values()]
        return envelope(items, started=started, extra={"resultSet": {"offset": 0, "limit": 20, "count": len(items)}})

    def find(request: Request, state: JotformAccount, started: float) -> Form | Response:
        form = state.forms.get(request.path_params["form_id"])
        if form is None:
            return envelope("", status=404, message="Form not found", started=started)
        return form

    async def form(request: Request, state: JotformAccount, path: str, started: float) -> Response:
        found = find(request, state, started)
        return found if isinstance(found, Response) else envelope(form_json(state, found), started=started)

    async def webhooks(request: Request, state: JotformAccount, path: str, started: float) -> Response:
        found = find(request, state, started)
        if isinstance(found, Response):
            return found
        if request.method == "POST":
            params = await read_params(request)
            url = params.get("webhookURL")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return envelope("", status=400, message="webhookURL is missing or is not a valid URL", started=started)
            with world.lock:
                if url not in found.webhooks:
                    found.webhooks.append(url)
        return envelope({str(i): u for i, u in enumerate(found.webhooks)}, started=started)

    table: list[tuple[str, Handler, list[str]]] = [
        ("/user", user, ["GET"]),
        ("/user/forms", forms, ["GET"]),
        ("/form/{form_id}", form, ["GET"]),
        ("/form/{form_id}/webhooks", webhooks, ["GET", "POST"]),
    ]
    out: list[BaseRoute] = []
    for path, handler, methods in table:
        out.append(Route(path, api(handler), methods=methods))
        out.append(Route("/v1" + path, api(handler), methods=methods))
    return [*out, *pages.routes(world)]


def fault_response(rule: FaultRule) -> Response:
    if rule.kind == "ratelimit":
        body = {
            "responseCode": 429,
            "message": "You've reached your daily API limit. Please try again later.",
            "content": "",
            "limit-left": 0,
            "duration": "1.00ms",
        }
        return JSONResponse(body, status_code=429, headers={"Retry-After": str(rule.retry_after)})
    body = {
        "responseCode": 503,
        "message": "Service temporarily unavailable.",
        "content": "",
        "limit-left": LIMIT,
        "duration": "1.00ms",
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(rule.retry_after)})


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    path = request.url.path.removeprefix("/v1")
    if status in (404, 405):
        return envelope("", status=404, message=f"Requested URL ({path}) is not available!")
    return envelope("", status=500, message="Something went wrong.")


EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: _http_error, Exception: _http_error}
