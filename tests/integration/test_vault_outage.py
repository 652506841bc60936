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
import re
import time
from collections.abc import Callable, Iterator
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
from tests.figures import record
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

    def __init__(self, m: CrashMatrix, run_id: str, person: Callable[[str, str], None], gate: Path) -> None:
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


def _stopped(sandbox: Sandbox, connection_id: str) -> list[str]:
    """The ':x: Stopped' lines in the Slack thread of the handover of *connection_id*."""
    slack = state_of(sandbox.world)
    roots = [m["ts"] for m in slack.messages("C0HANDOVER") if f"connection {connection_id})" in json.dumps(m)]
    assert len(roots) == 1, roots  # the run's thread, posted once across its processes
    replies = [json.dumps(m) for m in slack.messages("C0HANDOVER", include_replies=True)
               if m.get("thread_ts") == roots[0]]  # fmt: skip
    return [t for t in replies if ":x: *Stopped*" in t]


def _labels(vault: Any, path: str) -> tuple[int | None, ...]:
    state = vault.describe(path)
    return state.current_version, state.pending_version, state.previous_version, state.latest_version


def test_vault_outages_mid_handover_fail_safe_and_the_retry_completes(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
    prefect_server: PrefectServer, vault_proxy: TCPProxy, tmp_path: Path,
) -> None:  # fmt: skip
    """Two outages in one run: Vault cut as the last answer resumes the run (its new process starts without Vault),
    then, once restored and retried, cut again as the promotion starts. Each time: failed safe, said clearly."""
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
    cut_at: list[float] = []

    def cut() -> None:
        vault_proxy.cut()
        cut_at.append(time.monotonic())

    def answer(run: str, key: str) -> None:
        if key == STEPS[-1]:
            cut()  # outage 1: the run resumes (a new process) while Vault is away
        person(run, key)

    drive = Driver(m, run_id, answer, gate)
    shape = re.compile(rf"^\w+ \S+: cannot reach Vault at {re.escape(vault_proxy.addr)}; is it running\? "
                       rf"check BATON_VAULT_ADDR\. {re.escape(VAULT_DOWN)}\.$")  # fmt: skip
    messages: list[str] = []
    failed_after: list[float] = []

    def fails_safe(outage: int) -> None:
        failed = m.state(run_id)
        failed_after.append(time.monotonic() - cut_at[-1])
        assert failed["type"] == "FAILED", drive.outputs[-1][-3000:]
        assert drive.asked == STEPS
        error = _result(drive.outputs[-1])
        assert error is not None and error["type"] == "VaultUnreachable", drive.outputs[-1][-3000:]
        messages.append(error["error"])
        assert shape.match(error["error"]), error["error"]
        said = _stopped(sandbox, case.connection_id)
        assert len(said) == outage, said  # said once in the run's Slack thread, each time
        assert VAULT_DOWN in said[-1] and "Traceback" not in said[-1] and 'File "' not in said[-1]
        for text in [error["error"], said[-1], drive.outputs[-1]]:  # no secret anywhere the run spoke
            assert person.token not in text and "old-leaver-token" not in text and case.password not in text
        # nothing half-promoted: v1 current, v2 pending (the deposit), the labels as they were
        assert _labels(vault, case.token_path) == (1, 2, None, 2)
        assert vault.read_current(case.token_path).values["api_access_token"].get_secret_value() == "old-leaver-token"
        assert vault.read_version(case.token_path, 2).values["api_access_token"].get_secret_value() == person.token

    try:
        drive.until_ended()
        fails_safe(1)
        vault_proxy.restore()
        m.reschedule(run_id)  # as Prefect's Retry on the failed run
        drive.until_ended(at_gate=cut)  # outage 2: as promote_api_token starts
        fails_safe(2)
        vault_proxy.restore()
        m.reschedule(run_id)
        final = drive.until_ended()
    finally:
        drive.close()
        person.close()
        m.close()
    assert final["type"] == "COMPLETED", drive.outputs[-1][-3000:]
    result = _result(drive.outputs[-1])
    assert result is not None and result["status"] == "done", drive.outputs[-1][-3000:]
    assert drive.asked == STEPS  # nobody was asked again after the outages
    for key in STEPS:
        assert len(posts(sandbox, run_id, key)) == 1, key
    # one current working credential (v2, opening the connection as the successor), the previous kept
    assert _labels(vault, case.token_path) == (2, None, 1, 2)
    current = vault.read_current(case.token_path).values["api_access_token"].get_secret_value()
    assert case.connection().current_token().token == current  # type: ignore[union-attr]
    assert vault.read_version(case.token_path, 1).values["api_access_token"].get_secret_value() == "old-leaver-token"
    assert vault_proxy.cuts == 2 and gate.with_suffix(".reached").read_text().startswith("promote_api_token")
    record("vault-outage", outages=vault_proxy.cuts, runs_completed=1)
    print(f"\nVAULT-OUTAGE: 2 outages in one run (as the last answer resumed it; as promote_api_token started); "
          f"failed safe after {failed_after[0]:.1f} s and {failed_after[1]:.1f} s (task retries 1+4+15 s), v1 "
          f"current and v2 pending each time; 2 retries after the restores; completed: v2 current, v1 previous; "
          f"{len(drive.asked)} steps asked once each")  # fmt: skip
    for n, message in enumerate(messages, 1):
        print(f"VAULT-OUTAGE message {n}: {message}")
