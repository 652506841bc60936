"""audit_integrations against real Prefect and OpenBao, a sandbox seeded with one of each problem
(tests/audit_world.py) and healthy integrations beside them, and Baton's gateway for the "Hand over" button.

One audit run reports exactly the seeded problems, changes nothing in any vendor (the sandbox's call log,
sandbox/calllog.py), reports to Slack (one message, one thread), an artifact and one event per finding, and
never shows a secret. Then the buttons: the requester's and an outsider's clicks start nothing; an
approver's click starts the handover deployment once, however often it is clicked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from baton.devstack import OpenBaoDevServer, PrefectServer, free_port
from baton.stackenv import settings_from, stack_env
from clients.factory import custody_from, slack_from
from clients.prefect_api import prefect_http
from gateway.app import build, create_app
from sandbox import calllog
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests import audit_world
from tests.flows import audit_probe
from tests.harness import ROOT, FlowProcess

SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
FLOW = "flows.audit:audit_integrations"
REQUESTER = "carol@acme.example"
CHANNEL = "C0ITAUDIT"


@dataclass
class AuditStack:
    sandbox: Sandbox
    env: dict[str, str]
    api: str
    catalog: Path
    deployment: str


@pytest.fixture(scope="module")
def stack(
    openbao: OpenBaoDevServer, prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuditStack]:
    """A sandbox of its own (seeded for the audit), its credentials in Vault, a catalog, the probe handover
    deployment, and a gateway in this process that the sandbox's Slack sends clicks to."""
    here = tmp_path_factory.mktemp("audit")
    sandbox = Sandbox(audit_world.scenario()).start()
    audit_world.after_start(sandbox)
    port = free_port()
    slack = state_of(sandbox.world)
    env = stack_env(
        vault_addr=openbao.addr, vault_token=openbao.root_token, prefect=prefect_server, urls=sandbox.urls,
        ca_file=sandbox.ca_file, slack_bot_token=slack.config.bot.token,
        slack_signing_secret=slack.config.signing_secret, gateway_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    settings = settings_from(env)
    deployment = audit_probe.register_deployment()
    catalog = audit_world.catalog_and_vault(custody_from(settings), here, deployment)
    env |= {"BATON_CATALOG_PATH": str(catalog), "BATON_SLACK_AUDIT_CHANNEL": CHANNEL}
    settings = settings_from(env)
    server = uvicorn.Server(
        uvicorn.Config(create_app(build(settings, custody_from(settings), slack_from(settings))), host="127.0.0.1",
                       port=port, log_level="warning", access_log=False)
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    slack.set_request_url(f"http://127.0.0.1:{port}/slack/actions")
    try:
        yield AuditStack(sandbox, env, prefect_server.api_url, catalog, deployment)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sandbox.stop()


@pytest.fixture(scope="module")
def audited(stack: AuditStack) -> dict[str, Any]:
    """One audit run, started by hand by carol; what it returned and the vendor calls it made."""
    before = dict(stack.sandbox.world.calls)
    flow = FlowProcess(SCRIPT, stack.env, FLOW, json.dumps({"requested_by": REQUESTER}))
    result = flow.wait(timeout=300)
    assert result.get("status") == "done", flow.output()[-4000:]
    return {"result": result, "calls": calllog.since(before, dict(stack.sandbox.world.calls)), "log": flow.output()}


def test_one_run_reports_exactly_the_seeded_problems(audited: dict[str, Any]) -> None:
    findings = audited["result"]["findings"]
    found = {(f["kind"], f["integration_id"]) for f in findings}
    assert found == audit_world.EXPECTED, json.dumps(findings, indent=1)[:6000]
    assert len(findings) == len(audit_world.EXPECTED), "one finding per seeded problem"
    for finding in findings:
        assert finding["severity"] in ("critical", "high", "medium", "low") and finding["fix"] and finding["evidence"]
    by = {(f["kind"], f["integration_id"]): f for f in findings}
    assert by[("leaver-authorisation", "audit-frozen")]["evidence"]["user_state"] == "frozen"
    assert by[("leaver-authorisation", "audit-leaver")]["evidence"]["user_state"] == "inactive"
    assert by[("token-limit", "audit-busy")]["evidence"]["tokens"] == "4"
    assert "198.51.100.7" in by[("login-outside-ranges", "audit-ip")]["evidence"]["logins"]
    assert by[("credential-stale", "audit-stale")]["evidence"]["age_days"] in ("399", "400")
    assert "GET /me answered 401" in by[("credential-broken", "audit-broken")]["evidence"]["detail"]
    handover = {f["integration_id"] for f in findings if f["handover"]}
    assert handover == {"audit-leaver", "audit-frozen", "audit-personal", "audit-nosuccessor", "audit-broken",
                        "audit-stale"}  # fmt: skip
    assert audited["result"]["credentials"] == 6


def test_the_audit_writes_nothing_to_any_vendor(audited: dict[str, Any]) -> None:
    calls = audited["calls"]
    vendor = calllog.vendor_calls(calls)
    assert calllog.writes(calls) == {}, vendor
    # the reads it did make: a snapshot of Salesforce, the profile's ranges, each credential's test read
    assert any("/query" in k for k in vendor) and calls.get("salesforce SOAP metadata readMetadata") == 1
    for read in ("jira GET /rest/api/3/myself", "jira_server GET /rest/api/2/myself", "jotform GET /user"):
        assert calls.get(read) == 1, (read, vendor)
    assert calls.get("intercom GET /me") == 2  # the healthy token and the broken one


def test_report_in_slack_artifact_and_events(stack: AuditStack, audited: dict[str, Any]) -> None:
    result = audited["result"]
    slack = state_of(stack.sandbox.world)
    top = [m for m in slack.messages(CHANNEL) if m["ts"] == result["slack_ts"]]
    assert len(top) == 1 and "9 finding(s)" in json.dumps(top[0]["blocks"])
    replies = slack.thread(CHANNEL, result["slack_ts"])[1:]
    assert len(replies) == 7, "one reply per kind of finding"
    text = json.dumps(replies)
    buttons = text.count('"text": "Hand over"')
    assert buttons == 6
    run_id = result["flow_run_id"]
    with prefect_http(stack.api) as http:
        artifacts = http.post("artifacts/filter", json={"artifacts": {"key": {"any_": ["integration-audit"]},
                              "flow_run_id": {"any_": [run_id]}}}).json()  # fmt: skip
        assert len(artifacts) == 1 and "audit-broken" in artifacts[0]["data"]
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(events) < 9:
            reply = http.post("events/filter", json={"filter": {"event": {"name": ["baton.audit.finding"]},
                              "related": {"id": [f"prefect.flow-run.{run_id}"]}}, "limit": 50})  # fmt: skip
            events = reply.json().get("events", [])
            time.sleep(1)
    assert len(events) == 9, events
    assert {e["payload"]["kind"] for e in events} == {k for k, _ in audit_world.EXPECTED}
    everything = json.dumps([top, replies, artifacts, events]) + audited["log"]
    for values in audit_world.SECRETS.values():
        for secret in values.values():
            if "@" not in secret:
                assert secret not in everything, "a secret reached the report"
    assert audit_world.SF_PASSWORD not in everything and audit_world.SF_TOKEN not in everything


def _button(stack: AuditStack, ts: str, integration: str) -> tuple[str, str]:
    """(message ts, action_id) of the "Hand over" button of *integration*'s finding in the audit's thread."""
    for message in state_of(stack.sandbox.world).thread(CHANNEL, ts)[1:]:
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("type") == "button" and json.loads(element["value"])["integration"] == integration:
                    return message["ts"], element["action_id"]
    raise AssertionError(f"no Hand over button for {integration}")


def _runs(api: str, integration: str) -> list[dict[str, Any]]:
    with prefect_http(api) as http:
        body = {"flow_runs": {"tags": {"all_": [f"baton-integration:{integration}"]}}, "limit": 20}
        return list(http.post("flow_runs/filter", json=body).json())


def test_hand_over_needs_an_approver_and_starts_one_run(stack: AuditStack, audited: dict[str, Any]) -> None:
    slack = state_of(stack.sandbox.world)
    ts, action = _button(stack, audited["result"]["slack_ts"], "audit-broken")
    for who, why in ((REQUESTER, "four eyes"), ("dave@acme.example", "may approve")):
        click = slack.click(who, CHANNEL, ts, action)
        assert click.status == 200, click.body
        body = json.loads(click.body)
        assert body.get("response_type") == "ephemeral" and "Nothing was started" in body["text"], (who, body)
        assert why in body["text"]
        assert _runs(stack.api, "audit-broken") == [], f"{who}'s click started a run"
    first = slack.click("bob@acme.example", CHANNEL, ts, action)
    assert first.status == 200 and "Started" in json.loads(first.body)["text"], first.body
    runs = _runs(stack.api, "audit-broken")
    assert len(runs) == 1
    run = runs[0]
    assert run["parameters"]["request"] == {"standin": "done", "integration_id": "audit-broken",
                                            "requested_by": "bob@acme.example"}  # fmt: skip
    finding = next(f for f in audited["result"]["findings"] if f["integration_id"] == "audit-broken")
    assert run["idempotency_key"] == finding["id"], "the finding's id is the idempotency key"
    again = slack.click("bob@acme.example", CHANNEL, ts, action)
    assert "already being handed over" in json.loads(again.body)["text"], again.body
    assert len(_runs(stack.api, "audit-broken")) == 1, "twice starts one"
    thread = json.dumps(slack.thread(CHANNEL, audited["result"]["slack_ts"]))
    assert run["id"] in thread, "the run is linked in the audit's thread"


def test_a_finding_no_handover_fixes_has_no_button(stack: AuditStack, audited: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="no Hand over button"):
        _button(stack, audited["result"]["slack_ts"], "audit-busy")


def test_a_handover_already_under_way_elsewhere_is_linked_not_doubled(
    stack: AuditStack, audited: dict[str, Any]
) -> None:
    """A run tagged for the integration (as offboarding tags its handovers) counts as under way."""
    with prefect_http(stack.api) as http:
        deployment_id = http.get(f"deployments/name/{stack.deployment}").json()["id"]
        body = {"parameters": {"request": {"integration_id": "other"}}, "tags": ["offboarding",
                "baton-integration:audit-stale"]}  # fmt: skip
        existing = http.post(f"deployments/{deployment_id}/create_flow_run", json=body).json()["id"]
    ts, action = _button(stack, audited["result"]["slack_ts"], "audit-stale")
    click = state_of(stack.sandbox.world).click("bob@acme.example", CHANNEL, ts, action)
    text = json.loads(click.body)["text"]
    assert "already being handed over" in text and existing in text, text
    assert [r["id"] for r in _runs(stack.api, "audit-stale")] == [existing]


def test_plan_mode_reads_nothing_and_a_bad_request_names_the_field(stack: AuditStack) -> None:
    before = dict(stack.sandbox.world.calls)
    plan = FlowProcess(SCRIPT, stack.env, FLOW, json.dumps({"plan": True})).wait(timeout=120)
    assert "Test stored credentials" in plan["plan"]
    bad = FlowProcess(SCRIPT, stack.env, FLOW, json.dumps({"only": ["no-such-entry"]})).wait(timeout=120)
    assert "only: no catalog entry no-such-entry" in bad["error"] and "nothing was changed" in bad["error"]
    typo = FlowProcess(SCRIPT, stack.env, FLOW, json.dumps({"test_credential": False})).wait(timeout=120)
    assert "test_credential" in typo["error"], typo
    assert calllog.vendor_calls(calllog.since(before, dict(stack.sandbox.world.calls))) == {}
