"""Check the stand-ins' answers against the vendors' own OpenAPI 3 files (Jira, Intercom).

Each spec is parsed once per test process (``functools.cache``). ``check_jira(resp)`` and
``check_intercom(resp)`` take an ``httpx.Response`` and raise ``SpecMismatch`` on any difference.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

# shared/ sits beside the project's root (CI clones main next to it); /work/shared on a developer machine.
SPECS = next(
    (p for p in (Path(__file__).resolve().parents[3] / "shared" / "specs", Path("/work/shared/specs")) if p.exists()),
    Path("/work/shared/specs"),
)
JIRA_SERVER = "https://your-domain.atlassian.net"
INTERCOM_SERVER = "https://api.intercom.io"
JIRA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d{4}|[+-]\d\d:\d\d|Z)$")


class SpecMismatch(AssertionError):
    """A stand-in's answer differs from the vendor's spec."""


@functools.cache
def jira_dict() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPECS / "jira-platform-rest-v3.openapi.json").read_text())
    return data


@functools.cache
def jira_spec() -> OpenAPI:
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": _jira_date})
    return OpenAPI.from_dict(jira_dict(), config=config)


@functools.cache
def intercom_dict() -> dict[str, Any]:
    with (SPECS / "intercom-2.16.openapi.yaml").open() as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=yaml.CSafeLoader)
    return data


@functools.cache
def intercom_spec() -> OpenAPI:
    return OpenAPI.from_dict(intercom_dict(), config=Config(spec_validator_cls=None))


def _jira_date(value: object) -> bool:
    return not isinstance(value, str) or bool(JIRA_DATE.match(value))


def _component(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A component schema with its $refs resolvable (the whole spec as the root document)."""
    return {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}


def _validate_schema(spec: dict[str, Any], name: str, body: Any) -> None:
    try:
        jsonschema.validate(body, _component(spec, name))
    except jsonschema.ValidationError as exc:
        raise SpecMismatch(f"{name}: {exc.message} at {list(exc.absolute_path)}") from exc


def _declared(spec: dict[str, Any], path_template: str | None, method: str, status: int) -> bool:
    if path_template is None:
        return False
    op = spec["paths"].get(path_template, {}).get(method.lower(), {})
    resp = op.get("responses", {}).get(str(status), {})
    return bool(resp.get("content"))


def _validate(openapi: OpenAPI, server: str, path: str, resp: httpx.Response) -> None:
    req = resp.request
    query = dict(req.url.params)
    mock_req = MockRequest(server, req.method, path, args=query, headers=dict(req.headers), data=req.content or None)
    ctype = resp.headers.get("content-type", "application/json").split(";")[0]
    mock_resp = MockResponse(resp.content, status_code=resp.status_code, headers=dict(resp.headers), content_type=ctype)
    try:
        openapi.validate_response(mock_req, mock_resp)
    except Exception as exc:  # openapi-core raises several unrelated types; all mean "mismatch"
        detail = getattr(exc, "__cause__", None) or exc
        extra = getattr(detail, "schema_errors", None) or ""
        raise SpecMismatch(f"{req.method} {path} -> {resp.status_code}: {exc!r} {detail!r} {extra}") from exc


def jira_path(url_path: str) -> str:
    """The spec's path for a stand-in path: /ex/jira/<cloudid>/rest/api/3/x -> /rest/api/3/x."""
    return re.sub(r"^/ex/jira/[^/]+", "", url_path)


def _template(spec: dict[str, Any], path: str) -> str | None:
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def check_jira(resp: httpx.Response) -> None:
    """Raise SpecMismatch unless ``resp`` matches the Jira operation it answers (errors: ErrorCollection)."""
    path = jira_path(resp.request.url.path)
    spec = jira_dict()
    template = _template(spec, path)
    if template is None:
        raise SpecMismatch(f"{path} is not a Jira REST v3 path")
    if resp.status_code >= 400:
        _validate_schema(spec, "ErrorCollection", resp.json())
        if not _declared(spec, template, resp.request.method, resp.status_code):
            return  # most Jira errors have no body schema in the spec: ErrorCollection checked above
    _validate(jira_spec(), JIRA_SERVER, path, resp)


INTERCOM_REQUIRED = {
    "/me": {"type", "id", "name", "email", "app"},
}


def check_intercom(resp: httpx.Response) -> None:
    """Raise SpecMismatch unless ``resp`` matches the Intercom operation (errors: the ``error`` schema)."""
    path = resp.request.url.path
    spec = intercom_dict()
    if resp.status_code >= 400:
        body = resp.json()
        _validate_schema(spec, "error", body)
        if body.get("type") != "error.list" or not body.get("errors"):
            raise SpecMismatch(f"not an error.list: {body}")
        return
    _validate(intercom_spec(), INTERCOM_SERVER, path, resp)
    body = resp.json()
    missing = INTERCOM_REQUIRED.get(path, set()) - set(body)
    if missing:
        raise SpecMismatch(f"{path}: missing field(s) Baton reads: {sorted(missing)}")
    if path == "/me" and not {"id_code", "name"} <= set(body.get("app") or {}):
        raise SpecMismatch("/me: app must carry id_code and name")
