"""Issue 13, item 2, continued (tests/integration/test_crash_matrix.py): the crash matrix over offboard-person and
audit-integrations. offboard-person's handovers are the TEST-ONLY stand-in flows (tests/flows/handover_standins.py)
as deployments of their own, whose runs the matrix executes (unarmed) as a worker would: it converges to one run
per integration and one freeze. The audit changes nothing anywhere: it converges to one report (one Slack
message, one event per finding) and no vendor write."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from flows.audit import audit_integrations
from flows.offboarding import offboard_person
from sandbox import calllog
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.crash_matrix import CrashMatrix, register, slack_click, step_message
from tests.flows import handover_standins
from tests.harness import RunningGateway
from tests.integration import test_audit as audit
from tests.integration import test_offboard_person as offboarding
from tests.integration.test_crash_matrix import _report, crash_matrix, names

pytestmark = pytest.mark.slow
alice_unfrozen, stack = offboarding.alice_unfrozen, audit.stack  # fixtures
__all__ = ["alice_unfrozen", "crash_matrix", "stack"]
STANDIN = "crash-standin"


@pytest.fixture(scope="module")
def standins(prefect_server: PrefectServer) -> dict[str, str]:
    """The stand-in handovers as deployments ``<flow>/crash-standin`` (no work pool): deployment id -> entrypoint."""
    found = {}
    for flow in handover_standins.FLOWS:
        entrypoint = f"tests.flows.handover_standins:{flow.fn.__name__}"
        found[register(flow, entrypoint, STANDIN)] = entrypoint
    return found


def _catalog(tmp_path: Path) -> Path:
    path = offboarding.catalog(tmp_path)
    data = yaml.safe_load(path.read_text())
    for entry in data["integrations"]:
        entry["deployment"] = f"{entry['flow']}/{STANDIN}"
    path.write_text(yaml.safe_dump(data))
    return path


def test_offboard_person_converges_after_a_crash_at_every_point(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    standins: dict[str, str], alice_unfrozen: None, crash_matrix: Any, tmp_path: Path,
) -> None:  # fmt: skip
    env = {**baton_env, "BATON_CATALOG_PATH": str(_catalog(tmp_path))}
    m: CrashMatrix = crash_matrix(env, offboard_person, "flows.offboarding:offboard_person")
    freezes = lambda: sum(n for k, n in sandbox.world.calls.items() if " PATCH " in k and "/UserLogin/" in k)  # noqa: E731
    before = freezes()

    def approve(run_id: str, key: str) -> None:
        assert key == "approve-offboarding"
        slack_click(sandbox, step_message(sandbox, run_id, key), "bob@acme.example", "baton_approve")

    def one_run_each() -> None:
        children = offboarding.child_runs(prefect_server.api_url, ["offboarding", f"baton-leaver:{offboarding.ALICE}"])
        mine = [c for c in children if c["deployment_id"] in standins and c["created"] >= started]
        tags = [t for c in mine for t in c["tags"] if t.startswith("baton-integration:")]
        assert len(tags) == len(set(tags)), tags  # never a second handover of one integration

    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 2))
    run_id = m.create_run(m.deployment, request={"person": offboarding.ALICE, "requested_by": "carol@acme.example"})
    outcome = m.go(run_id, approve, after_each=one_run_each, meanwhile=lambda: m.run_children(standins, baton_env))
    _report("offboard-person", outcome)
    assert outcome.final["type"] == "COMPLETED", outcome.tail()
    result = outcome.result
    assert result is not None and result["status"].startswith("done: every handover verified"), outcome.tail()
    assert result["frozen"] is True and offboarding.frozen(sandbox)
    assert outcome.steps == ["approve-offboarding"]
    assert len(outcome.points) == len(set(outcome.points))
    assert names(outcome.points) >= {
        "salesforce_grants",
        "make_plan",
        "wait:approve-offboarding",
        "answer:approve-offboarding",
        "start_handover",
        "freeze_salesforce_user",
    }
    assert sum(":start_handover#" in p for p in outcome.points) == len(offboarding.IDS)  # a crash after each start
    one_run_each()
    assert {state["type"] for state in result["handovers"].values()} == {"COMPLETED"}
    assert sorted(result["handovers"]) == sorted(offboarding.IDS)
    assert freezes() - before == 1  # frozen once: the rerun after the freeze found it frozen


def test_audit_converges_after_a_crash_at_every_point(
    stack: audit.AuditStack, prefect_server: PrefectServer, crash_matrix: Any
) -> None:
    world = stack.sandbox.world
    m: CrashMatrix = crash_matrix(stack.env, audit_integrations, "flows.audit:audit_integrations")
    calls = dict(world.calls)
    slack = state_of(world)
    before = len(slack.messages(audit.CHANNEL))

    def nobody_asked(run_id: str, key: str) -> None:
        raise AssertionError(f"the audit asked a person ({key})")

    outcome = m.go(m.create_run(m.deployment, request={"requested_by": audit.REQUESTER}), nobody_asked)
    _report("audit-integrations", outcome)
    assert outcome.final["type"] == "COMPLETED", outcome.tail()
    result = outcome.result
    assert result is not None and result["status"] == "done", outcome.tail()
    assert names(outcome.points) >= {"salesforce_snapshot", "credential_facts", "emit_findings"}
    assert {(f["kind"], f["integration_id"]) for f in result["findings"]} == audit.audit_world.EXPECTED
    assert calllog.writes(calllog.since(calls, dict(world.calls))) == {}  # changed nothing in any vendor
    tops = slack.messages(audit.CHANNEL)[before:]
    assert len(tops) == 1, [t["text"] for t in tops]  # one report, however often it crashed
    assert len(slack.thread(audit.CHANNEL, tops[0]["ts"])) == 1 + 7  # one reply per kind of finding
    events: list[dict[str, Any]] = []
    with prefect_http(prefect_server.api_url) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = http.post("events/filter", json={"filter": {"event": {"name": ["baton.audit.finding"]},
                              "related": {"id": [f"prefect.flow-run.{outcome.run_id}"]}}, "limit": 50})  # fmt: skip
            events = reply.json().get("events", [])
            if len(events) >= len(result["findings"]):
                time.sleep(2)  # a second emission would land by now
                events = http.post("events/filter", json=json.loads(reply.request.content)).json()["events"]
                break
            time.sleep(1)
    assert len(events) == len(result["findings"]), [e["resource"]["prefect.resource.id"] for e in events]
