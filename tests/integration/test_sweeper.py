"""Suspended runs hold no process, so the scheduled sweeper reminds, escalates and fails them safely."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from flows.sweeper import remind_waiting_steps
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tasks.services import services
from tests.harness import FlowProcess, RunningGateway
from tests.integration.test_suspend import Served, stop, wait_for


@pytest.fixture(scope="module")
def sweep_served(baton_env: dict[str, str], prefect_server: PrefectServer) -> Iterator[Served]:
    server = FlowProcess("sweep_probe.py", {**baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1"})
    http = prefect_http(prefect_server.api_url)
    try:
        deployment = wait_for(
            "the deployment to be served",
            lambda: (r := http.get("deployments/name/sweep-probe/sweep-probe")).status_code == 200 and r.json(),
            timeout=45, every=0.2,
        )  # fmt: skip
        yield Served(server, http, str(deployment["id"]))
    finally:
        stop(server)
        http.close()


@pytest.fixture
def in_process_settings(baton_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the sweeper flow in this process with the session's BATON_* settings."""
    for key, value in baton_env.items():
        if key.startswith("BATON_"):
            monkeypatch.setenv(key, value)
    services.cache_clear()
    yield
    services.cache_clear()


def _until(posted_at: float, seconds: float) -> None:
    time.sleep(max(0.0, posted_at + seconds - time.time()))


def test_sweeper_reminds_escalates_then_fails_a_suspended_run_safely(
    sweep_served: Served, in_process_settings: None, gateway: RunningGateway, sandbox: Sandbox
) -> None:
    slack = state_of(sandbox.world)
    slack.set_post_rate(0)
    tag = uuid.uuid4().hex[:8]
    run_id = sweep_served.start(tag=tag, remind_every=4, escalate_after=9, deadline=14)
    try:
        assert sweep_served.wait_suspended(run_id, "sweep")["name"] == "Suspended"
        meta = sweep_served.http.get(f"flow_runs/{run_id}/input/baton-step-sweep").json()
        posted = float(meta["posted_at"])
        assert remind_waiting_steps() == {"remind": 0, "escalate": 0, "expire": 0}  # nothing due yet
        _until(posted, 4.5)
        first = remind_waiting_steps()
        again = remind_waiting_steps()  # nothing is done twice
        _until(posted, 9.5)
        second = remind_waiting_steps()
        assert sweep_served.state(run_id)["type"] == "PAUSED"
        escalated = sweep_served.http.get(f"flow_runs/{run_id}/input/baton-escalated-sweep")
        assert escalated.status_code == 200 and escalated.json()["group"] == "it-escalation", escalated.text
        _until(posted, 14.5)
        third = remind_waiting_steps()
        final = sweep_served.state(run_id)
    finally:
        sweep_served.cancel_if_paused(run_id)
        slack.set_post_rate(1)
    assert first == {"remind": 1, "escalate": 0, "expire": 0}
    assert again == {"remind": 0, "escalate": 0, "expire": 0}
    assert second == {"remind": 1, "escalate": 1, "expire": 0}
    assert third == {"remind": 0, "escalate": 0, "expire": 1}
    assert final["type"] == "FAILED" and "HumanStepTimedOut" in final["message"]
    replies = slack.thread(meta["channel"], meta["ts"])
    texts = [m.get("text", "") for m in replies]
    assert sum("Reminder: <@U0BOB0001>" in t for t in texts) == 2
    assert sum("<!subteam^S0ESCALATION>" in t for t in texts) == 1
    assert sum("Nobody answered" in t and "The old integration user still works." in t for t in texts) == 1
