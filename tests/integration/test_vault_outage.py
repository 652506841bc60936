"""Issue 13, item 3: Vault goes away in the middle of a handover, without losing its state: the flow processes
reach OpenBao through a TCP proxy the test cuts (tests/tcpproxy.py; a dev server keeps everything in memory).

The rotation case (rotate-salesforce-jira-connector, server variant; tests/crash_matrix.py's pieces run its one
deployment run, each attempt a process of its own): Vault holds the leaver's token (v1, current) before; the
person's steps are done over HTTP (the crash matrix's ConnectorPerson) and deposit the new token (v2, pending).
Vault is cut as the run starts to promote it (the task held at its start: tests/flows/crash_points.py ``gate``).
The run fails safe: its Slack thread and its error say Vault could not be reached and what to do, without a
traceback or a secret; nothing is half-promoted (v1 still current, v2 pending, the labels untouched). Vault is
restored and the run retried, as from Prefect's Retry: it completes without asking anyone again, v2 current and
proven, v1 kept as previous.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.devstack import OpenBaoDevServer, PrefectServer
from flows.reporting import VAULT_DOWN
from flows.salesforce_jira_connector import rotate_salesforce_jira_connector
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.crash_matrix import ENDED, CrashMatrix, _result, _until, posts, register
from tests.e2e.handover_case import Case, custody, new_case
from tests.harness import FlowProcess, RunningGateway
from tests.integration.test_crash_matrix import ConnectorPerson
from tests.tcpproxy import TCPProxy

pytestmark = pytest.mark.slow
ENTRYPOINT = "flows.salesforce_jira_connector:rotate_salesforce_jira_connector"
STEPS = ["sf-logout", "jira-revoke", "authorize", "api-token", "sf-package-save"]


@pytest.fixture
def vault_proxy(openbao: OpenBaoDevServer) -> Iterator[TCPProxy]:
    port = int(openbao.addr.rsplit(":", 1)[1])
    proxy = TCPProxy("127.0.0.1", port).start()
    yield proxy
    proxy.stop()


class Driver:
    """One deployment run driven to its end (or its failure) by warm worker processes, answering each step once."""

    def __init__(self, m: CrashMatrix, run_id: str, person: ConnectorPerson, gate: Path) -> None:
        self.m, self.run_id, self.person, self.gate = m, run_id, person, gate
        self.asked: list[str] = []
        self.outputs: list[str] = []
        self.warm = [m._warm()]

    def until_ended(self, at_gate: Any = None, timeout: float = 240) -> dict[str, Any]:
        """Release processes until the run ends; *at_gate()* is called once the held task started."""
        m, deadline = self.m, time.monotonic() + timeout
        while True:
            flow: FlowProcess = self.warm.pop(0).release(self.run_id, m.entrypoint)
            self.warm.append(m._warm())
            while flow.proc.poll() is None:
                assert time.monotonic() < deadline, flow.output()[-3000:]
                if self.gate.with_suffix(".reached").exists() and not self.gate.with_suffix(".go").exists():
                    if at_gate is not None:
                        at_gate()
                    self.gate.with_suffix(".go").write_text("go")
                key = m.waiting_at(self.run_id)
                if key is not None and key not in self.asked:
                    flow.kill()  # suspended: nothing holds the run while the person is asked
                    break
                time.sleep(0.1)
            flow.proc.wait(timeout=60)
            self.outputs.append(flow.output())
            state = m.state(self.run_id)
            if state["type"] in ENDED:
                return state
            key = m.waiting_at(self.run_id) or _until(lambda: m.waiting_at(self.run_id), 30)
            assert key not in self.asked, f"step {key} asked again:\n{flow.output()[-3000:]}"
            self.asked.append(key)
            self.person(self.run_id, key)
            _until(lambda: m.state(self.run_id)["type"] not in ("PAUSED",) or None, 60)
            if m.state(self.run_id)["type"] != "SCHEDULED":
                m.reschedule(self.run_id)

    def close(self) -> None:
        for spare in self.warm:
            spare.flow.kill()


def _thread_text(sandbox: Sandbox) -> list[str]:
    return [json.dumps(m) for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)]


def test_vault_cut_at_the_promotion_fails_safe_and_the_retry_completes(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
    prefect_server: PrefectServer, vault_proxy: TCPProxy, tmp_path: Path,
) -> None:  # fmt: skip
    case: Case = new_case(sandbox, openbao, "server")
    vault = custody(openbao)  # the test's own view of Vault, not through the proxy
    old = vault.stage(case.token_path, {"api_access_token": "old-leaver-token"}, expect_version=0)
    vault.promote(old.path, old.version)
    gate = tmp_path / "promote"
    env = {**baton_env, "BATON_VAULT_ADDR": vault_proxy.addr, "BATON_TEST_GATE": f"promote_api_token={gate}"}
    m = CrashMatrix(prefect_server.api_url, env, tmp_path, ENTRYPOINT, [ENTRYPOINT.split(":")[0]])
    run_id = m.create_run(register(rotate_salesforce_jira_connector, ENTRYPOINT, name="vault-outage"),
                          request=case.request())  # fmt: skip
    person = ConnectorPerson(sandbox, case.successor)
    drive = Driver(m, run_id, person, gate)
    try:
        cut_at: list[float] = []
        failed = drive.until_ended(at_gate=lambda: (vault_proxy.cut(), cut_at.append(time.monotonic())))
        failed_after = time.monotonic() - cut_at[0]
        assert failed["type"] == "FAILED", drive.outputs[-1][-3000:]
        assert drive.asked == STEPS
        error = _result(drive.outputs[-1])
        assert error is not None and error["type"] == "VaultUnreachable", drive.outputs[-1][-3000:]
        message = error["error"]
        assert message == (
            f"describe {case.token_path}: cannot reach Vault at {vault_proxy.addr}; is it running? check "
            f"BATON_VAULT_ADDR. {VAULT_DOWN}."
        ), message
        stopped = [t for t in _thread_text(sandbox) if run_id in t or case.connection_id in t]
        said = [t for t in _thread_text(sandbox) if ":x: *Stopped*" in t and case.token_path in t]
        assert len(said) == 1, stopped
        assert "Traceback" not in said[0] and 'File "' not in said[0]
        new_token = person.token
        for text in [message, said[0], *drive.outputs]:  # no secret anywhere the run spoke
            assert new_token not in text and "old-leaver-token" not in text and case.password not in text

        # nothing half-promoted: v1 current, v2 pending (the deposit, proven), the labels as they were
        state = vault.describe(case.token_path)
        assert (state.current_version, state.pending_version, state.previous_version, state.latest_version) == (
            1, 2, None, 2), state  # fmt: skip
        assert vault.read_current(case.token_path).values["api_access_token"].get_secret_value() == "old-leaver-token"
        assert vault.read_version(case.token_path, 2).values["api_access_token"].get_secret_value() == new_token

        vault_proxy.restore()
        m.reschedule(run_id)  # as Prefect's Retry on the failed run
        final = drive.until_ended()
    finally:
        drive.close()
        person.close()
        m.close()
    assert final["type"] == "COMPLETED", drive.outputs[-1][-3000:]
    result = _result(drive.outputs[-1])
    assert result is not None and result["status"] == "done", drive.outputs[-1][-3000:]
    assert drive.asked == STEPS  # nobody was asked again after the outage
    for key in STEPS:
        assert len(posts(sandbox, run_id, key)) == 1, key
    # one current working credential (v2, opening the connection as the successor), the previous kept
    state = vault.describe(case.token_path)
    assert (state.current_version, state.pending_version, state.previous_version, state.latest_version) == (
        2, None, 1, 2), state  # fmt: skip
    current = vault.read_current(case.token_path).values["api_access_token"].get_secret_value()
    assert case.connection().current_token().token == current  # type: ignore[union-attr]
    assert vault.read_version(case.token_path, 1).values["api_access_token"].get_secret_value() == "old-leaver-token"
    assert vault_proxy.connections > 0 and vault_proxy.cuts == 1
    print(f"\nVAULT-OUTAGE: 1 outage (Vault cut as promote_api_token started); the run failed safe after "
          f"{failed_after:.1f} s (retries 1+4+15 s), v1 still current, v2 pending; after the restore the retry "
          f"completed: v2 current, v1 previous; {len(drive.asked)} steps asked once each")  # fmt: skip
    print(f"VAULT-OUTAGE message: {message}")
