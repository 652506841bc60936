"""The REST API under /services/data: versions, limits, query, sobjects (CRUD, describe), passwords."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_json
from sandbox.salesforce import describe, query
from sandbox.salesforce.auth import generated_password, password_problem
from sandbox.salesforce.errors import SfError, not_found
from sandbox.salesforce.store import Record, now_iso, spec_of
from sandbox.salesforce.web import (
    MAX_VERSION,
    MIN_VERSION,
    authenticate,
    check_version,
    error_reply,
    org_of,
    rest_reply,
)
from sandbox.world import World

Body = Any


def routes(world: World) -> list[BaseRoute]:
    async def versions(request: Request) -> Response:
        org = org_of(world)
        return rest_reply(
            org,
            [
                {"label": f"v{v}.0", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(MIN_VERSION, MAX_VERSION + 1)
            ],
        )

    async def data(request: Request) -> Response:
        org = org_of(world)
        try:
            parts = [p for p in request.path_params["rest"].split("/") if p]
            if not parts:
                raise not_found()
            version = check_version(parts[0])
            _, user = authenticate(org, request)
            org.count_api_call()
            body = await read_json(request) if request.method in ("POST", "PATCH") else None
            status, reply = _dispatch(world, request, version, parts[1:], user, body)
            return rest_reply(org, reply, status)
        except SfError as err:
            return error_reply(org, err)

    methods = ["GET", "POST", "PATCH", "DELETE", "HEAD", "PUT"]
    return [
        Route("/services/data", versions),
        Route("/services/data/", versions),
        Route("/services/data/{rest:path}", data, methods=methods),
    ]


def _dispatch(
    world: World, request: Request, version: str, parts: list[str], user: Record, body: Body
) -> tuple[int, Any]:
    org = org_of(world)
    method = request.method
    if not parts:
        base = f"/services/data/{version}"
        return 200, {
            "sobjects": f"{base}/sobjects",
            "query": f"{base}/query",
            "queryAll": f"{base}/queryAll",
            "limits": f"{base}/limits",
        }
    head, rest = parts[0], parts[1:]
    if head == "limits" and not rest:
        _only(method, "GET")
        return 200, {"DailyApiRequests": {"Max": org.api_limit, "Remaining": max(org.api_limit - org.api_used, 0)}}
    if head in ("query", "queryAll"):
        _only(method, "GET")
        if rest:
            return 200, query.more(org, version, rest[0])
        text = request.query_params.get("q")
        if text is None:
            raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
        return 200, query.run_query(org, version, text, user)
    if head == "sobjects":
        return _sobjects(world, method, version, rest, user, body, request)
    raise not_found()


def _only(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}")


def _sobjects(
    world: World, method: str, version: str, parts: list[str], user: Record, body: Body, request: Request
) -> tuple[int, Any]:
    org = org_of(world)
    if not parts:
        _only(method, "GET")
        return 200, describe.describe_global(version)
    spec = spec_of(parts[0])
    if len(parts) == 1:
        _only(method, "GET", "POST")
        if method == "GET":
            return 200, describe.basic(version, spec)
        if body is None:
            raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
        record = org.create(spec.name, body, actor=user)
        return 201, {"id": record["Id"], "success": True, "errors": []}
    if parts[1] == "describe" and len(parts) == 2:
        _only(method, "GET")
        return 200, describe.describe(version, spec)
    record_id = parts[1]
    if len(parts) == 3 and parts[2] == "password" and spec.name == "User":
        return _password(world, method, record_id, user, body)
    if len(parts) != 2:
        raise not_found()
    if method == "GET":
        if spec.name in ("OauthToken", "UserPermissionAccess"):  # query() only; OauthToken Ids are null
            raise not_found()
        record = org.store.require(spec.name, record_id)
        wanted = request.query_params.get("fields")
        names = [f.strip() for f in wanted.split(",")] if wanted else [f.name for f in spec.fields]
        for name in names:
            if spec.field(name) is None:
                raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}")
        out: Record = {"attributes": query.attributes(version, spec.name, record["Id"])}
        out.update({spec.field(n).name: record.get(spec.field(n).name) for n in names})  # type: ignore[union-attr]
        return 200, out
    if method == "PATCH":
        if body is None:
            raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
        org.update(spec.name, record_id, body, actor=user)
        return 204, None
    if method == "DELETE":
        org.delete(spec.name, record_id, actor=user)
        return 204, None
    _only(method, "GET", "PATCH", "DELETE")
    raise not_found()


def _password(world: World, method: str, record_id: str, actor: Record, body: Body) -> tuple[int, Any]:
    org = org_of(world)
    target = org.store.require("User", record_id)
    if target["Id"] != actor["Id"] and not org.profile_of(actor).get("PermissionsManageUsers"):
        raise SfError(403, "INSUFFICIENT_ACCESS", "insufficient access rights on cross-reference id")
    cred = org.credentials[target["Id"]]
    if method == "GET":
        return 200, {"isExpired": cred.password_expired}
    if method == "DELETE":
        new = generated_password()
        with world.lock:
            cred.password, cred.password_expired = new, True
            target["LastModifiedDate"] = now_iso()
        return 200, {"NewPassword": new}
    _only(method, "GET", "POST", "DELETE")
    wanted = body.get("NewPassword") if isinstance(body, dict) else None
    if not isinstance(wanted, str):
        raise SfError(400, "JSON_PARSER_ERROR", "Missing NewPassword")
    problem = password_problem(wanted)
    if problem:
        raise SfError(400, "INVALID_NEW_PASSWORD", problem)
    with world.lock:
        cred.password, cred.password_expired = wanted, False
    return 204, None
