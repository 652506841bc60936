"""Web API errors: HTTP 200 with ``{"ok": false, "error": code}``, 429 for rate limits, 404 unknown method."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """A method's answer ``{"ok": false, "error": code}`` (codes from the method's list in the spec)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ratelimited, retry after {retry_after}s")
        self.retry_after = retry_after


def error_response(code: str, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error": code, **extra}, status_code=status)


def ratelimited_response(retry_after: int) -> JSONResponse:
    """Slack's 429: ``Retry-After`` in whole seconds and the ``ratelimited`` error body."""
    return JSONResponse(
        {"ok": False, "error": "ratelimited"}, status_code=429, headers={"Retry-After": str(retry_after)}
    )


def unknown_method_response(method: str) -> JSONResponse:
    """Slack answers unknown methods with HTTP 404 and ``unknown_method`` (echoing ``req_method``)."""
    return JSONResponse({"ok": False, "error": "unknown_method", "req_method": method}, status_code=404)
