"""Small HTTP helpers every stand-in shares: request parameters, fault injection, call counting."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.faults import FaultRule
from sandbox.world import World

FaultResponder = Callable[[FaultRule], Response]


async def read_params(request: Request) -> dict[str, Any]:
    """Query string, then form or JSON body, merged (body wins): vendors accept all three."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or (not ctype and body[:1] in (b"{", b"[")):
        try:
            data = json.loads(body)
        except ValueError:
            return params
        if isinstance(data, dict):
            params.update(data)
        return params
    params.update(dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
    return params


async def read_json(request: Request) -> Any:
    """The JSON body, or ``None`` when it is absent or not JSON."""
    body = await request.body()
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _drop_connection(send: Send) -> bool:
    """Close the client's connection without an answer (uvicorn's request cycle holds the transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    return True


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The request's whole body, and a receive that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _swallow(message: Any) -> None:
    """An ASGI send that keeps the answer from the client (a ``lost`` fault)."""


class FaultMiddleware:
    """Counts every call per host and route, and plays the fault rules set for this host."""

    def __init__(self, app: ASGIApp, *, world: World, host: str, responder: FaultResponder) -> None:
        self.app = app
        self.world = world
        self.host = host
        self.responder = responder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.world.count_call(self.host, method, path)
        body, receive = await _buffered(receive)
        # the same call again (path, query and body): a retry, which must wait out the Retry-After it was given
        call = hashlib.sha256(scope.get("query_string", b"") + b"\n" + body).hexdigest()[:16]
        self.world.faults.note_call(self.host, method, path, call)
        rule = self.world.faults.take(self.host, method, path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "expire_sessions":
            vendor = self.world.vendors.get(self.host)
            expire = getattr(vendor, "expire_sessions", None)
            if callable(expire):
                expire()
            await self.app(scope, receive, send)
            return
        if rule.kind == "latency":
            await asyncio.sleep(rule.latency_ms / 1000)
            await self.app(scope, receive, send)
            return
        if rule.kind == "drop" and _drop_connection(send):
            return
        if rule.kind == "lost":
            await self.app(scope, receive, _swallow)
            if _drop_connection(send):
                return
        response = self.responder(rule)
        retry_after = response.headers.get("retry-after", "")
        if retry_after.isdigit():
            self.world.faults.hold(self.host, path, call, int(retry_after))
        await response(scope, receive, send)
