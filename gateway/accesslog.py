"""Access log lines without secrets and without forged lines: one-time tickets in paths and OAuth
codes/states in query strings are masked, and control characters (CR, LF, ...) are escaped, before
anything is written."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("baton.gateway.access")
_TICKET = re.compile(r"^/(deposit|reveal)/[^/]+")


def printable(text: str) -> str:
    """*text* on one line: every character that is not printable (CR, LF, NUL, U+2028...) and ``"`` and
    ``\\`` as escapes, so a request cannot write a line of its own into the log."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def safe_path(path: str, query: str) -> str:
    path = _TICKET.sub(lambda m: f"/{m.group(1)}/***", path)
    return printable(path + ("?***" if query else ""))


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
            client = printable(str((scope.get("client") or ("-", 0))[0]))
            method = printable(str(scope.get("method", "")))
            ms = (time.monotonic() - start) * 1000
            log.info('%s "%s %s" %d %.0fms', client, method, path, status, ms)
