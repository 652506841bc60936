"""Reading a Web API call: JSON, form or query-string arguments, and the token.

JSON bodies need the token in the ``Authorization: Bearer`` header (Slack ignores a token inside a
JSON body); form bodies and query strings may carry ``token``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sandbox.slack.errors import ApiError

# Methods whose documented errors lack invalid_json / json_not_object: they answer invalid_form_data.
NO_JSON_ERRORS = frozenset({"chat.postMessage"})


@dataclass
class ApiRequest:
    method: str
    params: dict[str, Any]
    token: str | None

    def text(self, name: str, *, array_error: str = "invalid_array_arg") -> str | None:
        """A string argument; numbers and booleans are read as text; arrays and objects are refused."""
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, str):
            return value
        raise ApiError(array_error)

    def flag(self, name: str) -> bool:
        value = self.params.get(name)
        if isinstance(value, bool):
            return value
        return isinstance(value, str | int) and str(value).lower() in ("1", "true", "yes")


def _body_error(method: str, code: str) -> ApiError:
    return ApiError("invalid_form_data" if method in NO_JSON_ERRORS else code)


async def read_request(request: Request, method: str) -> ApiRequest:
    params: dict[str, Any] = dict(request.query_params)
    query_token = params.pop("token", None)
    token_from_body: str | None = None
    body = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and ctype == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _body_error(method, "invalid_json") from exc
        if not isinstance(data, dict):
            raise _body_error(method, "json_not_object")
        params.update(data)
        params.pop("token", None)
    elif body and ctype in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError("invalid_charset") from exc
        form = dict(parse_qsl(text, keep_blank_values=True))
        token_from_body = form.pop("token", None)
        params.update(form)
    elif body and ctype != "multipart/form-data":
        raise ApiError("invalid_post_type")
    auth = request.headers.get("authorization", "")
    token: str | None = None
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip() or None
    token = token or token_from_body or query_token or None
    return ApiRequest(method=method, params=params, token=token)
