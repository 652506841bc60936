"""Access log lines without secrets: one-time tickets in paths and OAuth codes/states in query strings
are masked before anything is written."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("baton.gateway.access")
_TICKET = re.compile(r"^/(deposit|reveal)/[^/]+")


def safe_path(path: str, query: str) -> str:
    path = _TICKET.sub(lambda m: f"/{m.group(1)}/***", path)
    return path + ("?***" if query else "")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        status = 0

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            path = safe_path(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"))
            client = (scope.get("client") or ("-", 0))[0]
            ms = (time.monotonic() - start) * 1000
            log.info('%s "%s %s" %d %.0fms', client, scope.get("method"), path, status, ms)
