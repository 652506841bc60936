"""plan=True: both handovers print every step, marked AUTO or PERSON, and change nothing (no call to Salesforce,
Jira or Slack); a bad request is refused naming the field, in the run and in Slack."""

from __future__ import annotations

import json

from baton.devstack import PrefectServer
from flows.intercom_app_user import S as IntercomSteps
from flows.salesforce_jira_connector import S as ConnectorSteps
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import ROOT, FlowProcess

SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
CONNECTOR = {"integration_id": "jira-plan", "variant": "server", "leaver": "alice@acme.example",
             "successor": "jira-connector@acme.example", "connection_id": "20001",
             "requested_by": "bob@acme.example"}  # fmt: skip
INTERCOM = {"integration_id": "intercom-plan", "leaver": "alice@acme.example", "successor": "intercom-app@acme.example",
            "projects": [10000], "intercom_workspace": "acmesupport1", "requested_by": "bob@acme.example"}  # fmt: skip


def _calls(sandbox: Sandbox) -> dict[str, int]:
    with sandbox.world.lock:
        return {k: v for k, v in sandbox.world.calls.items() if not k.startswith("admin")}


def test_plan_mode_prints_every_step_and_changes_nothing(
    baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    before = _calls(sandbox)
    flows = [
        FlowProcess(SCRIPT, baton_env, "flows.salesforce_jira_connector:rotate_salesforce_jira_connector",
                    json.dumps({"request": CONNECTOR, "plan": True})),
        FlowProcess(SCRIPT, baton_env, "flows.intercom_app_user:change_intercom_app_user",
                    json.dumps({"request": INTERCOM, "plan": True})),
    ]  # fmt: skip
    try:
        results = [flow.wait(timeout=90) for flow in flows]
    finally:
        for flow in flows:
            flow.kill()
    for result, steps in zip(results, (ConnectorSteps, IntercomSteps), strict=True):
        plan = result["plan"]
        for number, step in enumerate(steps, 1):
            mark = "AUTO  " if step.value.who == "automatic" else "PERSON"
            assert f"{number:2}. [{mark}] {step.value.title}" in plan, plan
    assert "[PERSON] 3. Authorize as the new integration user" in results[0]["plan"]
    assert "[PERSON] Reinstall it and authorise as the new Jira user" in results[1]["plan"]
    assert _calls(sandbox) == before  # no Salesforce, Jira, Intercom or Slack call


def test_bad_request_is_refused_naming_the_field_in_the_run_and_in_slack(
    baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    bad = {**CONNECTOR, "variant": "datacenter", "connection_id": "20 001"}
    flow = FlowProcess(SCRIPT, baton_env, "flows.salesforce_jira_connector:rotate_salesforce_jira_connector",
                       json.dumps({"request": bad}))  # fmt: skip
    try:
        result = flow.wait(timeout=90)
    finally:
        flow.kill()
    assert result["type"] == "InvalidRequest" and "nothing was changed" in result["error"]
    assert "variant" in result["error"] and "connection_id" in result["error"]
    messages = [json.dumps(m) for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)]
    assert any("Refused before any change" in m and "connection_id" in m for m in messages)
