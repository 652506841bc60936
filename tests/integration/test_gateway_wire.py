"""The gateway on the wire (uvicorn, a real socket): one access-log line per request whatever the path
holds, and a 64 KiB cap on request bodies, announced or streamed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.accesslog import safe_path
from gateway.limits import MAX_BODY
from tests.harness import RunningGateway
from tests.integration.gateway_kit import gateway_client

ROUTES = ["/slack/actions", "/hooks/offboarding", "/hooks/okta", "/deposit/some-ticket"]


def raw(gateway: RunningGateway, request: bytes) -> bytes:
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


REQUEST_LINES = [
    b"GET /healthz%0d%0aFORGED%20200%20line HTTP/1.1",
    b"GET /deposit/abc%0aFORGED%0d HTTP/1.1",
    b"GET /healthz%e2%80%a8FORGED%00%1b[31m HTTP/1.1",  # U+2028, NUL, an ANSI escape
    b"GET /healthz\r\nFORGED: line HTTP/1.1",  # literal CR/LF: the server refuses the request line
    b"GET /healthz\nFORGED HTTP/1.1",
    b"POST /slack/actions?x=%0d%0aFORGED HTTP/1.1",
]


@pytest.mark.parametrize("line", REQUEST_LINES, ids=lambda b: b.decode("latin-1")[:30])
def test_a_request_path_cannot_write_a_line_into_the_access_log(gateway: RunningGateway, line: bytes) -> None:
    before = len(gateway.log_lines)
    reply = raw(gateway, line + b"\r\nHost: gw\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 4") or reply.startswith(b"HTTP/1.1 2"), reply[:200]
    assert not reply.startswith(b"HTTP/1.1 5"), reply[:200]
    new = gateway.log_lines[before:]
    access = [entry for entry in new if '"GET ' in entry or '"POST ' in entry]
    if b"%" in line:  # reached the app: exactly one line, the characters escaped
        assert len(access) == 1 and ("FORGED" in access[0] or "***" in access[0]), (access, new)
    else:  # uvicorn refused the request line itself (400): the app logged nothing
        assert reply.startswith(b"HTTP/1.1 400") and not access, (reply[:100], access)
    for entry in new:
        assert "\r" not in entry and "\n" not in entry and "\u2028" not in entry and "\x00" not in entry, repr(entry)
        assert not entry.startswith("FORGED"), repr(entry)


def test_control_characters_are_escaped_not_dropped() -> None:
    assert safe_path("/healthz\r\nFORGED\u2028\x1b", "") == "/healthz\\x0d\\x0aFORGED\\u2028\\x1b"
    assert safe_path('/x"y', "code=1") == '/x\\"y?***'
    assert safe_path("/deposit/tok\r\nen", "") == "/deposit/***"


@pytest.mark.parametrize("route", ROUTES)
def test_an_announced_body_over_the_cap_is_413(gateway: RunningGateway, route: str) -> None:
    reply = httpx.post(gateway.url + route, content=b"a" * (MAX_BODY + 1), timeout=10)
    assert reply.status_code == 413 and "larger than 65536 bytes" in reply.json()["error"], reply.text


@pytest.mark.parametrize("route", ROUTES)
def test_a_streamed_body_over_the_cap_is_413(gateway: RunningGateway, route: str) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for _ in range(20):
            yield b"b" * 8192

    reply = httpx.post(gateway.url + route, content=chunks(), timeout=10)
    assert reply.status_code == 413, reply.text


def test_a_body_at_the_cap_gets_through_to_the_route(gateway: RunningGateway) -> None:
    reply = httpx.post(gateway.url + "/hooks/offboarding", content=b"{" * MAX_BODY, timeout=10)
    assert reply.status_code == 401, reply.text  # the route answered: no signature


def test_a_body_longer_than_its_content_length_claims_is_413(baton_env: dict[str, str]) -> None:
    """In-process ASGI: the server says 10 bytes and delivers 70 KB in chunks; the cap counts what arrives."""
    with gateway_client(baton_env) as client:
        app = client.app
    messages: list[dict[str, Any]] = []
    parts = [b"c" * 7000] * 10

    async def receive() -> dict[str, Any]:
        if parts:
            return {"type": "http.request", "body": parts.pop(), "more_body": bool(parts)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/slack/actions", "raw_path": b"/slack/actions", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"gw"), (b"content-length", b"10")], "client": ("127.0.0.1", 1), "server": ("gw", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert messages[0]["type"] == "http.response.start" and messages[0]["status"] == 413
