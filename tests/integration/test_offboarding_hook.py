"""``POST /hooks/offboarding``: an identity provider's "user deactivated" event starts one offboarding run.

The gateway points at a test deployment (``BATON_OFFBOARDING_DEPLOYMENT``, registered by the harness);
nobody executes its runs, the tests only count what the hook created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from tests.harness import RunningGateway


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": f"evt_{uuid.uuid4().hex[:12]}",
        "type": "user.deactivated",
        "user": {"email": "alice@acme.example"},
    }
    return base | changes


class Hook:
    def __init__(self, gateway: RunningGateway, baton_env: dict[str, str], api: str) -> None:
        self.url = gateway.url + "/hooks/offboarding"
        self.secret = baton_env["BATON_GATEWAY_HOOK_SECRET"]
        self.api = api
        self.prefect = prefect_http(api)  # authenticated (the server's HTTP Basic auth is on)
        reply = self.prefect.get(f"deployments/name/{baton_env['BATON_OFFBOARDING_DEPLOYMENT']}")
        reply.raise_for_status()
        self.deployment_id = str(reply.json()["id"])

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(self.url, content=body, headers={"Content-Type": "application/json", **(headers or {})})

    def signed(self, payload: Any) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.post(body, {"X-Baton-Signature": sign(self.secret, body)})

    def runs(self) -> int:
        """How many runs the deployment has."""
        reply = self.prefect.post("flow_runs/count", json={"deployments": {"id": {"any_": [self.deployment_id]}}})
        reply.raise_for_status()
        return int(reply.json())


@pytest.fixture
def hook(gateway: RunningGateway, baton_env: dict[str, str], prefect_server: PrefectServer) -> Hook:
    return Hook(gateway, baton_env, prefect_server.api_url)


def test_a_signed_event_starts_one_run_and_a_repeat_returns_the_same_run(hook: Hook) -> None:
    before = hook.runs()
    sent = event()
    first = hook.signed(sent)
    assert first.status_code == 202, first.text
    run_id = first.json()["flow_run_id"]
    assert first.json()["event_id"] == sent["event_id"]
    again = hook.signed(sent)  # the identity provider delivers the same event twice
    assert again.status_code == 202 and again.json()["flow_run_id"] == run_id
    assert hook.runs() == before + 1

    run = hook.prefect.get(f"flow_runs/{run_id}").json()
    assert run["deployment_id"] == hook.deployment_id
    assert run["parameters"] == {
        "request": {"person": "alice@acme.example", "requested_by": "identity-provider", "event_id": sent["event_id"]}
    }
    assert "offboarding" in run["tags"] and run["idempotency_key"] == sent["event_id"]


def test_bearer_auth_works_too(hook: Hook) -> None:
    before = hook.runs()
    sent = event(type="user.suspended", user={"email": "dave@acme.example"})
    body = json.dumps(sent).encode()
    reply = hook.post(body, {"Authorization": f"Bearer {hook.secret}"})
    assert reply.status_code == 202, reply.text
    same = hook.signed(sent)  # the other auth path, the same event: the same run
    assert same.status_code == 202 and same.json()["flow_run_id"] == reply.json()["flow_run_id"]
    assert hook.runs() == before + 1


def test_a_leave_date_and_a_cancellation_reach_the_run(hook: Hook) -> None:
    ahead = event(leave_at="2027-01-15T17:00:00+00:00", requested_by="carol@acme.example")
    reply = hook.signed(ahead)
    assert reply.status_code == 202, reply.text
    request = hook.prefect.get(f"flow_runs/{reply.json()['flow_run_id']}").json()["parameters"]["request"]
    assert request["leave_at"].startswith("2027-01-15T17:00") and request["requested_by"] == "carol@acme.example"
    cancelled = hook.signed(event(type="user.leave_cancelled"))
    assert cancelled.status_code == 202, cancelled.text
    request = hook.prefect.get(f"flow_runs/{cancelled.json()['flow_run_id']}").json()["parameters"]["request"]
    assert request["cancel"] is True and "leave_at" not in request


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Baton-Signature": "sha256=" + "0" * 64},
        {"X-Baton-Signature": "sha256="},
        {"X-Baton-Signature": "md5=abc"},
        {"Authorization": "Bearer wrong-secret"},
        {"Authorization": "Basic aG9vazpzZWNyZXQ="},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong-hmac", "empty-hmac", "other-scheme", "wrong-bearer", "basic", "empty-bearer"],
)
def test_a_request_without_the_right_credentials_is_refused(hook: Hook, headers: dict[str, str]) -> None:
    before = hook.runs()
    reply = hook.post(json.dumps(event()).encode(), headers)
    assert reply.status_code == 401, reply.text
    assert "X-Baton-Signature" in reply.json()["error"]
    assert hook.runs() == before


def test_a_signature_over_another_body_is_refused(hook: Hook) -> None:
    before = hook.runs()
    signed_body = json.dumps(event()).encode()
    other = json.dumps(event(user={"email": "carol@acme.example"})).encode()
    reply = hook.post(other, {"X-Baton-Signature": sign(hook.secret, signed_body)})
    assert reply.status_code == 401
    assert hook.runs() == before


@pytest.mark.parametrize("header", ["X-Baton-Signature", "Authorization"])
def test_credentials_that_are_not_ascii_are_refused(hook: Hook, header: str) -> None:
    before = hook.runs()
    value = b"sha256=\xe9" + b"0" * 63 if header == "X-Baton-Signature" else b"Bearer \xe9t\xe9"
    reply = httpx.post(hook.url, content=json.dumps(event()).encode(), headers=[(header.encode(), value)])
    assert reply.status_code == 401, reply.text
    assert hook.runs() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (event(user={}), "user.email"),
        (event(user={"email": "not-an-address"}), "user.email"),
        (event(type="user.created"), "type"),
        (event(event_id="has spaces"), "event_id"),
        (event(event_id=""), "event_id"),
        ({"type": "user.deactivated", "user": {"email": "alice@acme.example"}}, "event_id"),
        (event(user="alice@acme.example"), "user"),
        (event(leave_at="next tuesday"), "leave_at"),
        (event(requested_by="carol"), "requested_by"),
        (b"{not json", "body"),
        (b"[]", "body"),
    ],
    ids=[
        "no-email",
        "bad-email",
        "bad-type",
        "bad-event-id",
        "empty-event-id",
        "no-event-id",
        "user-str",
        "bad-leave-at",
        "bad-requester",
        "json",
        "list",
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(hook: Hook, payload: Any, field: str) -> None:
    before = hook.runs()
    reply = hook.signed(payload)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error.startswith("invalid event; check:") and field in error.removeprefix("invalid event; check:")
    assert reply.json()["example"]["type"] == "user.deactivated"
    assert hook.runs() == before


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def test_signed_garbage_is_a_400_and_starts_nothing(hook: Hook) -> None:
    before = hook.runs()
    http = httpx.Client(timeout=10)

    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.binary(max_size=200)
        | JSON_VALUES.map(lambda v: json.dumps(v).encode())
        | st.fixed_dictionaries({"event_id": JSON_VALUES, "type": JSON_VALUES, "user": JSON_VALUES}).map(
            lambda v: json.dumps(v).encode()
        )
    )
    @example(b"\xff\xfe")
    @example(b"[" * 5000)
    def check(body: bytes) -> None:
        reply = http.post(hook.url, content=body, headers={"X-Baton-Signature": sign(hook.secret, body)})
        assert reply.status_code == 400, (body[:200], reply.status_code, reply.text)

    with http:
        check()
    assert hook.runs() == before
