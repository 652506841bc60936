"""The gateway's OpenAPI description (gateway/openapi.yaml): valid OpenAPI 3, served at GET /openapi.json,
covering every route; and schemathesis fuzzing every operation of the in-process app built from the
session's real parts: no 500, and every response conforms to the description (status, content type,
schema, headers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway.app import OPENAPI
from tests.figures import record
from tests.integration.gateway_kit import gateway_client

pytestmark = pytest.mark.slow
MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def client(baton_env: dict[str, str]) -> Iterator[TestClient]:
    with gateway_client(baton_env) as client:
        yield client


def test_the_description_is_valid_openapi_3() -> None:
    document = yaml.safe_load(OPENAPI.read_text())
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_gateway_serves_it_and_it_covers_every_route(client: TestClient) -> None:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    document = reply.json()
    assert document == yaml.safe_load(OPENAPI.read_text())
    app = client.app.app.app  # type: ignore[attr-defined]  # AccessLog -> BodyLimit -> Starlette
    routes = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }
    described = {
        (path, method) for path, item in document["paths"].items() for method in item if method != "parameters"
    }
    assert routes == described


PATHS = yaml.safe_load(OPENAPI.read_text())["paths"]
OPERATIONS = [(path, method) for path, item in PATHS.items() for method in item if method != "parameters"]
# negative cases need something to break: a body, or a parameter other than a free-text path segment
NEGATABLE = {
    (path, method)
    for path, method in OPERATIONS
    if "requestBody" in PATHS[path][method]
    or any(p.get("in") != "path" for p in PATHS[path][method].get("parameters", []))
}
FUZZ = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + [
    (path, method, GenerationMode.NEGATIVE) for path, method in OPERATIONS if (path, method) in NEGATABLE
]
CASES: dict[str, int] = {}  # operation -> cases sent (the figures in the report)


@pytest.fixture(scope="module")
def gateway_schema(client: TestClient) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", client.app)


@pytest.mark.parametrize("path,method,mode", FUZZ)
def test_every_operation_fuzzed_never_500_and_conforms(
    gateway_schema: schemathesis.BaseSchema, path: str, method: str, mode: GenerationMode
) -> None:
    """Schemathesis' default checks on each case: not a server error, status code / content type / headers /
    body schema as described, negative data rejected. (Its pytest plugin cannot load a lazy schema on this
    pytest, so each operation's strategy is driven here with hypothesis.)"""
    operation = gateway_schema[path][method.upper()]
    label = f"{method.upper()} {path} {mode.value}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: schemathesis.Case) -> None:
        CASES[label] = CASES.get(label, 0) + 1
        case.call_and_validate()

    fuzz()
    record("gateway-schemathesis", runs=1, cases=CASES[label], server_errors=0)
    print(f"schemathesis: {label}: {CASES[label]} cases")
