"""The sandbox's own control host: faults on demand (and how many fired), call counts, Salesforce's sessions
(expire them all, set the org's session timeout), and each user's inbox page.

    POST /salesforce/sessions/expire   {"kind": "oauth"}  (kind optional)  -> {"expired": 3}
    POST /salesforce/session_timeout   {"seconds": 5}     (null: never)    -> {"seconds": 5.0}
    GET  /faults/fired                                                     -> {"salesforce limit": 2, ...}
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultRule, FaultSpecError
from sandbox.httpkit import read_json
from sandbox.world import World


def fault_response(rule: FaultRule) -> Response:
    return JSONResponse({"error": rule.kind}, status_code=503)


def routes(world: World) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "urls": world.urls})

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(
                [
                    {"host": r.host, "route": r.route, "kind": r.kind, "count": r.count, "fraction": r.fraction}
                    for r in world.faults.list()
                ]
            )
        if request.method == "DELETE":
            world.faults.clear(request.query_params.get("host"))
            return Response(status_code=204)
        body = await read_json(request)
        rules = body if isinstance(body, list) else [body]
        try:
            parsed = [FaultRule.from_dict(r if isinstance(r, dict) else {}) for r in rules]
        except (FaultSpecError, TypeError, ValueError) as exc:
            return JSONResponse({"error": "invalid_fault", "message": str(exc)}, status_code=400)
        for rule in parsed:
            world.faults.add(rule)
        return JSONResponse({"added": len(parsed)}, status_code=201)

    async def fired(request: Request) -> Response:
        return JSONResponse(world.faults.fired_counts())

    async def expire_sessions(request: Request) -> Response:
        from sandbox.salesforce.web import org_of

        body = await read_json(request)
        kind = body.get("kind") if isinstance(body, dict) else None
        if kind not in (None, "soap", "oauth", "ui"):
            return JSONResponse({"error": "invalid_kind", "message": "kind must be soap, oauth or ui"}, 400)
        return JSONResponse({"expired": org_of(world).expire_sessions(kind)})

    async def session_timeout(request: Request) -> Response:
        from sandbox.salesforce.web import org_of

        body = await read_json(request)
        seconds = body.get("seconds") if isinstance(body, dict) else "missing"
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0):
            message = 'seconds must be a number above 0, or null for no timeout, e.g. {"seconds": 5}'
            return JSONResponse({"error": "invalid_seconds", "message": message}, 400)
        org = org_of(world)
        with world.lock:
            org.session_timeout = float(seconds) if seconds is not None else None
        return JSONResponse({"seconds": org.session_timeout})

    async def calls(request: Request) -> Response:
        with world.lock:
            return JSONResponse(dict(world.calls))

    async def inbox_json(request: Request) -> Response:
        address = request.path_params["address"]
        return JSONResponse([m.__dict__ for m in world.mails_for(address)])

    async def inbox_page(request: Request) -> Response:
        address = request.path_params["address"]
        items = []
        for mail in reversed(world.mails_for(address)):
            links = "".join(f'<p><a href="{html.escape(u)}">{html.escape(u)}</a></p>' for u in mail.links)
            items.append(
                f'<article class="mail"><h2>{html.escape(mail.subject)}</h2>'
                f"<p class=from>From: {html.escape(mail.sender)}</p>"
                f"<pre>{html.escape(mail.body)}</pre>{links}</article>"
            )
        body = "".join(items) or "<p>No mail yet.</p>"
        return HTMLResponse(
            f"<!doctype html><title>Inbox of {html.escape(address)}</title>"
            f"<h1>Inbox of {html.escape(address)}</h1>{body}"
        )

    return [
        Route("/healthz", healthz),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/faults/fired", fired),
        Route("/calls", calls),
        Route("/salesforce/sessions/expire", expire_sessions, methods=["POST"]),
        Route("/salesforce/session_timeout", session_timeout, methods=["POST"]),
        Route("/inbox/{address}.json", inbox_json),
        Route("/inbox/{address}", inbox_page),
    ]
