"""The connector handovers served by ``serve()`` in their own process (tests/flows/serve_handovers.py), for the
tests that start real deployment runs. Import ``served_handovers`` into a test module to use it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from tests.harness import FlowProcess
from tests.integration.test_suspend import Served, stop, wait_for

CONNECTOR = "rotate-salesforce-jira-connector/rotate-salesforce-jira-connector"
INTERCOM = "change-intercom-app-user/change-intercom-app-user"


class Handovers(Served):
    """Served, plus the crash file the flow processes read (tests/flows/serve_handovers.py) and the other deployment."""

    crash_file: Path
    deployments: dict[str, str]

    def start_of(self, deployment: str, **parameters: object) -> str:
        reply = self.http.post(f"deployments/{self.deployments[deployment]}/create_flow_run",
                               json={"parameters": parameters})  # fmt: skip
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    def wait_final(self, run_id: str) -> dict[str, Any]:
        """As Served's, with room for a busy machine (a run's processes start slowly under load)."""
        final: dict[str, Any] = wait_for(
            "the run to finish",
            lambda: (s := self.state(run_id))["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") and s,
            timeout=120, every=0.2,
        )  # fmt: skip
        return final

    def reschedule(self, run_id: str) -> None:
        """Start a crashed run again (same run: its persisted task results come back Cached)."""
        reply = self.http.post(f"flow_runs/{run_id}/set_state",
                               json={"state": {"type": "SCHEDULED", "name": "Rerun"}, "force": True})  # fmt: skip
        assert reply.status_code in (200, 201), reply.text


@pytest.fixture(scope="module")
def served_handovers(
    baton_env: dict[str, str], prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Handovers]:
    crash = tmp_path_factory.mktemp("crash") / "crash-after"
    env = {**baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1", "BATON_TEST_CRASH_FILE": str(crash)}
    server = FlowProcess("serve_handovers.py", env)
    http = prefect_http(prefect_server.api_url)
    try:
        found = {}
        for name in (CONNECTOR, INTERCOM):
            found[name] = wait_for(
                f"the deployment {name} to be served",
                lambda name=name: (r := http.get(f"deployments/name/{name}")).status_code == 200 and r.json(),
                timeout=60, every=0.3,
            )["id"]  # fmt: skip
        served = Handovers(server, http, str(found[CONNECTOR]))
        served.crash_file = crash
        served.deployments = {k: str(v) for k, v in found.items()}
        yield served
    finally:
        stop(server)
        http.close()
