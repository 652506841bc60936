"""``/hooks/okta``: Okta's Event Hook, sent by the Okta stand-in (sandbox/okta.py) to the running gateway.

The gateway points at the probe deployment (offboard_person's parameter schema, enforced); nobody executes
its runs: the tests count what the hook created and read the parameters it gave them.
"""

from __future__ import annotations

import httpx
import pytest

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from sandbox.okta import NotVerified, OktaEventHook
from tests.harness import RunningGateway

ALICE = "alice@acme.example"


class Runs:
    def __init__(self, api: str, deployment: str) -> None:
        self.api = api
        self.prefect = prefect_http(api)  # authenticated (the server's HTTP Basic auth is on)
        reply = self.prefect.get(f"deployments/name/{deployment}")
        reply.raise_for_status()
        self.deployment_id = str(reply.json()["id"])

    def count(self) -> int:
        reply = self.prefect.post("flow_runs/count", json={"deployments": {"id": {"any_": [self.deployment_id]}}})
        reply.raise_for_status()
        return int(reply.json())

    def parameters(self, run_id: str) -> dict[str, object]:
        return dict(self.prefect.get(f"flow_runs/{run_id}").json()["parameters"])


@pytest.fixture
def runs(baton_env: dict[str, str], prefect_server: PrefectServer) -> Runs:
    return Runs(prefect_server.api_url, baton_env["BATON_OFFBOARDING_DEPLOYMENT"])


@pytest.fixture
def okta(gateway: RunningGateway, baton_env: dict[str, str]) -> OktaEventHook:
    hook = OktaEventHook(uri=gateway.url + "/hooks/okta", auth_value=baton_env["BATON_OKTA_HOOK_SECRET"])
    assert hook.verify(), "the gateway did not answer Okta's verification challenge"
    return hook


def test_the_verification_challenge_is_answered(gateway: RunningGateway, baton_env: dict[str, str]) -> None:
    hook = OktaEventHook(uri=gateway.url + "/hooks/okta", auth_value=baton_env["BATON_OKTA_HOOK_SECRET"])
    assert hook.verification_status == "UNVERIFIED"
    assert hook.verify() and hook.verification_status == "VERIFIED"
    reply = httpx.get(
        hook.uri, headers={"Authorization": hook.auth_value, "X-Okta-Verification-Challenge": "abc-123_XYZ"}
    )
    assert reply.status_code == 200 and reply.json() == {"verification": "abc-123_XYZ"}
    wrong = OktaEventHook(uri=hook.uri, auth_value="not-the-secret")
    assert not wrong.verify()  # a hook with the wrong secret is never verified...
    with pytest.raises(NotVerified):
        wrong.deactivate(ALICE, actor="bob@acme.example")  # ...and so Okta sends it nothing


def test_an_okta_deactivate_starts_offboarding_once(okta: OktaEventHook, runs: Runs) -> None:
    before = runs.count()
    event, reply = okta.deactivate(ALICE, actor="bob@acme.example")
    assert reply.status_code == 200, reply.text
    started = reply.json()["started"]
    assert [s["event_id"] for s in started] == [event["uuid"]]
    assert runs.parameters(started[0]["flow_run_id"]) == {
        "request": {"person": ALICE, "requested_by": "bob@acme.example", "event_id": event["uuid"]}
    }
    again = okta.deliver(event)  # Okta redelivers the same event (same uuid)
    assert again.status_code == 200 and again.json()["started"][0]["flow_run_id"] == started[0]["flow_run_id"]
    assert runs.count() == before + 1


def test_suspend_starts_offboarding_and_other_events_are_ignored(okta: OktaEventHook, runs: Runs) -> None:
    before = runs.count()
    suspend = okta.event("user.lifecycle.suspend", "dave@acme.example", "bob@acme.example")
    create = okta.event("user.lifecycle.create", "erin@acme.example", "bob@acme.example")
    login = okta.event("user.session.start", ALICE, ALICE)
    reply = okta.deliver(suspend, create, login)
    assert reply.status_code == 200, reply.text
    assert reply.json()["ignored"] == 2 and len(reply.json()["started"]) == 1
    assert runs.count() == before + 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong"}, {"Authorization": "Bearer okta-hook-secret-for-tests-0001"}, {"X-Other": "x"}],
    ids=["none", "wrong", "bearer-prefix", "other-header"],
)
def test_a_wrong_secret_starts_nothing(okta: OktaEventHook, runs: Runs, headers: dict[str, str]) -> None:
    before = runs.count()
    body = {"data": {"events": [okta.event("user.lifecycle.deactivate", ALICE, "bob@acme.example")]}}
    reply = httpx.post(okta.uri, json=body, headers=headers)
    assert reply.status_code == 401, reply.text
    challenge = httpx.get(okta.uri, headers={**headers, "X-Okta-Verification-Challenge": "c"})
    assert challenge.status_code == 401 and "verification" not in challenge.text
    assert runs.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"{}", "data"), (b'{"data": {"events": [{"eventType": "user.lifecycle.deactivate"}]}}', "uuid"), (b"[", "body")],
    ids=["no-data", "no-uuid", "not-json"],
)
def test_a_malformed_delivery_is_a_400(okta: OktaEventHook, runs: Runs, body: bytes, field: str) -> None:
    before = runs.count()
    reply = httpx.post(okta.uri, content=body, headers={"Authorization": okta.auth_value})
    assert reply.status_code == 400 and field in reply.json()["error"], reply.text
    assert runs.count() == before
