"""Small helpers shared by the Jira, Intercom and Jotform stand-ins: HTML pages, auth headers, errors."""

from __future__ import annotations

import base64
import binascii
import html
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from sandbox.faults import FaultRule

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:50em}button,.button{margin:.3em;padding:.4em 1em}"
    "label{display:block;margin:.5em 0}.error{color:#b00}.status{font-weight:bold}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}"
)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, status: int = 200, brand: str = "") -> HTMLResponse:
    head = f"<header><small>{esc(brand)}</small></header>" if brand else ""
    return HTMLResponse(
        f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{STYLE}</style></head><body>{head}<h1>{esc(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def hidden(fields: dict[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items())


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = raw.partition(":")
    return (user, secret) if sep else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def jira_error(
    status: int,
    messages: list[str] | None = None,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Jira's ErrorCollection: ``{"errorMessages": [...], "errors": {...}}``."""
    return JSONResponse({"errorMessages": messages or [], "errors": errors or {}}, status_code=status, headers=headers)


def jira_fault(rule: FaultRule) -> Response:
    headers = {
        "Retry-After": str(rule.retry_after),
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2030-01-01T00:00:00Z",
        "RateLimit-Reason": "jira-burst-based",
    }
    if rule.kind == "ratelimit":
        return jira_error(429, ["Rate limit exceeded."], headers=headers)
    return jira_error(
        503, ["Service unavailable. Please try again later."], headers={"Retry-After": str(rule.retry_after)}
    )


def parse_json_body(raw: bytes) -> tuple[Any, str | None]:
    """(data, None) or (None, Jackson-like parse error message)."""
    if not raw.strip():
        return None, "No content to map due to end-of-input"
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"Unexpected character: {str(exc)[:120]}"
