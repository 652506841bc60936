"""A flow pauses; a signed Slack click through the gateway resumes it with the responder's identity."""

from __future__ import annotations

from typing import Any

from baton.devstack import PrefectServer
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import FlowProcess, RunningGateway, step_message, wait_paused


def test_slack_click_resumes_a_paused_flow_with_the_responder(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    flow = FlowProcess("step_probe.py", baton_env, "kind=task")
    try:
        run = wait_paused(prefect_server.api_url, "step-probe")
        message = step_message(sandbox, run["id"])
        click = state_of(sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
        assert click.status == 200, click.body
        assert click.elapsed < 3.0
        result: dict[str, Any] = flow.wait()
    finally:
        flow.kill()
    assert result["outcome"] == "done"
    assert result["responder"] == "U0BOB0001"
    assert result["via"] == "slack" and result["verified"] is True
    final = state_of(sandbox.world).message("C0HANDOVER", message["ts"])
    assert "Done* by <@U0BOB0001>" in str(final["blocks"]) and "baton_done" not in str(final["blocks"])
    assert "answered 'done' by U0BOB0001 via slack (verified" in flow.output()
