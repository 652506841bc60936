"""The Metadata API's SOAP endpoint, ``POST /services/Soap/m/<version>[/<orgId>]``: readMetadata,
createMetadata and updateMetadata of Profile and ConnectedApp (see mdtypes.py), as simple-salesforce's
``sf.mdapi`` (zeep over its bundled metadata WSDL) calls them.

Faults (HTTP 500, ``faultcode`` ``sf:<code>``): ``INVALID_SESSION_ID`` for a missing or ended session;
``INSUFFICIENT_ACCESS`` "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata
permissions"; ``INVALID_TYPE`` for another metadata type; ``INVALID_OPERATION`` for other calls. Per
component failures are SaveResults with ``success`` false and ``errors`` (statusCode, message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.salesforce import mdtypes, mdxml
from sandbox.salesforce.access import has_permission
from sandbox.salesforce.errors import SfError
from sandbox.salesforce.org import Org
from sandbox.salesforce.web import VERSION_RE, org_of
from sandbox.world import World

Record = dict[str, Any]
NO_ACCESS = "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions"
MAX_COMPONENTS = 10
READERS: dict[str, Callable[[Org, str], Record | None]] = {
    "Profile": lambda org, name: (lambda p: mdtypes.read_profile(org, p) if p else None)(
        mdtypes.find_profile(org, name)
    ),
    "ConnectedApp": lambda org, name: (lambda a: mdtypes.read_app(org, a) if a else None)(mdtypes.find_app(org, name)),
}
WRITERS: dict[tuple[str, str], Callable[[Org, Record], Record]] = {
    ("createMetadata", "Profile"): mdtypes.create_profile,
    ("updateMetadata", "Profile"): mdtypes.update_profile,
    ("createMetadata", "ConnectedApp"): mdtypes.create_app,
    ("updateMetadata", "ConnectedApp"): mdtypes.update_app,
}


def _call(org: Org, operation: str, args: Record) -> Response:
    if operation == "readMetadata":
        kind, names = str(args.get("type", "")), [str(n) for n in args.get("fullNames") or []]
        if kind not in READERS:
            return mdxml.fault("INVALID_TYPE", f"Unknown type: {kind} (the stand-in models Profile and ConnectedApp)")
        if len(names) > MAX_COMPONENTS:
            return mdxml.fault("INVALID_OPERATION", f"Too many full names; the limit is {MAX_COMPONENTS}")
        with org.world.lock:
            # A name that does not exist comes back as an empty record (fullName null), as Salesforce answers.
            records = [READERS[kind](org, n) or {"@type": kind} for n in names]
        return mdxml.envelope(mdxml.to_xml("readMetadataResponse", {"result": {"records": records}}))
    if operation in ("createMetadata", "updateMetadata"):
        items = [m for m in args.get("metadata") or [] if isinstance(m, dict)]
        kinds = {m.get("@type") for m in items}
        if len(items) > MAX_COMPONENTS or len(kinds) > 1:
            return mdxml.fault("INVALID_OPERATION", f"Up to {MAX_COMPONENTS} components of one type per call")
        writer = WRITERS.get((operation, str(next(iter(kinds), ""))))
        if items and writer is None:
            return mdxml.fault(
                "INVALID_TYPE", f"Unknown type: {next(iter(kinds))} (the stand-in models Profile and ConnectedApp)"
            )
        results = [writer(org, m) for m in items] if writer else []
        return mdxml.envelope(mdxml.to_xml(f"{operation}Response", {"result": results}))
    return mdxml.fault("INVALID_OPERATION", f"{operation} is not modelled by the stand-in's Metadata API")


def routes(world: World) -> list[BaseRoute]:
    async def soap(request: Request) -> Response:
        org = org_of(world)
        if VERSION_RE.match("v" + request.path_params["version"]) is None:
            return mdxml.fault(
                "UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {request.path_params['version']}"
            )
        try:
            session_id, operation, args = mdxml.parse(await request.body())
        except mdxml.BadRequest as exc:
            return mdxml.fault("INVALID_REQUEST", str(exc))
        world.count_call("salesforce", "SOAP", f"metadata {operation}")  # which operation: a read or a write
        found = org.session_for(session_id) if session_id else None
        if found is None:
            return mdxml.fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        user = found[1]
        if not org.api_enabled(user):
            return mdxml.fault("API_DISABLED_FOR_ORG", "The Metadata API is not enabled for this user")
        if not (has_permission(org, user, "ModifyAllData") or has_permission(org, user, "ModifyMetadata")):
            return mdxml.fault("INSUFFICIENT_ACCESS", NO_ACCESS)
        try:
            org.count_api_call()
        except SfError as exc:
            return mdxml.fault(exc.code, exc.message)
        return _call(org, operation, args)

    return [
        Route("/services/Soap/m/{version}", soap, methods=["POST"]),
        Route("/services/Soap/m/{version}/", soap, methods=["POST"]),
        Route("/services/Soap/m/{version}/{org_id}", soap, methods=["POST"]),
    ]
