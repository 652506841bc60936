"""A deployment run (served by ``serve()`` in its own process) suspends at a human step: no process
holds it while it waits; a signed Slack click resumes it; a new process runs the flow from the top,
the task before the step comes back Cached (the sandbox saw its call once) and the Slack message is
not posted again. A refused answer before a suspend is not replayed on the rerun."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import FlowProcess, RunningGateway, step_message

DEPLOYMENT = "suspend-probe/suspend-probe"


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def flow_processes(serve_pid: int) -> list[int]:
    """Processes the runner started to run a flow (multiprocessing spawn children, not its resource tracker)."""
    return [p for p in descendants(serve_pid) if "spawn_main" in cmdline(p) and "resource_tracker" not in cmdline(p)]


def wait_for(what: str, check: Any, timeout: float = 30, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(server: FlowProcess) -> None:
    """Stop the serve process and anything it started, by pid."""
    children = descendants(server.proc.pid)
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
        try:
            server.proc.wait(timeout=10)
        except Exception:
            server.kill()
    for pid in children:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Served:
    """The serve() process and a client of the Prefect API."""

    server: FlowProcess
    http: httpx.Client
    deployment_id: str

    def start(self, **parameters: Any) -> str:
        reply = self.http.post(f"deployments/{self.deployment_id}/create_flow_run", json={"parameters": parameters})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    def resume(self, run_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
        """``POST /flow_runs/<id>/resume`` as the Prefect UI sends it (tried again on a busy server's 503)."""
        for _ in range(5):
            reply = self.http.post(f"flow_runs/{run_id}/resume", json={"run_input": run_input})
            if reply.status_code < 500:
                break
            time.sleep(0.5)
        body: dict[str, Any] = reply.json()
        return body

    def state(self, run_id: str) -> dict[str, Any]:
        for _ in range(5):  # a busy SQLite server may answer 503 for a moment
            reply = self.http.get(f"flow_runs/{run_id}")
            if reply.status_code < 500:
                break
            time.sleep(0.5)
        state: dict[str, Any] = reply.json()["state"]
        return state

    def wait_suspended(self, run_id: str, key: str) -> dict[str, Any]:
        """The run's state once it is suspended at *key* with its form stored (a resume before is refused)."""

        def suspended() -> dict[str, Any] | None:
            state = self.state(run_id)
            if state["type"] != "PAUSED" or state["state_details"]["pause_key"] != key:
                return None
            schema = state["state_details"]["run_input_keyset"]["schema"]
            return state if self.http.get(f"flow_runs/{run_id}/input/{schema}").status_code == 200 else None

        found: dict[str, Any] = wait_for(f"run {run_id} to suspend at {key}", suspended, timeout=45, every=0.1)
        return found

    def wait_final(self, run_id: str) -> dict[str, Any]:
        final: dict[str, Any] = wait_for(
            "the run to finish",
            lambda: (s := self.state(run_id))["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") and s,
            every=0.1,
        )
        return final

    def logs(self, run_id: str, until: str) -> str:
        """The run's log messages, once one holds *until* (a flow process ships its logs in batches)."""

        def read() -> str | None:
            body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
            text = "\n".join(str(log["message"]) for log in self.http.post("logs/filter", json=body).json())
            return text if until in text else None

        found: str = wait_for(f"a log line {until!r}", read, timeout=15, every=0.3)
        return found

    def cancel_if_paused(self, run_id: str) -> None:
        if self.state(run_id)["type"] == "PAUSED":
            self.http.post(f"flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLED"}, "force": True})


@pytest.fixture(scope="module")
def served(baton_env: dict[str, str], prefect_server: PrefectServer) -> Iterator[Served]:
    """suspend_probe served by serve() in its own process, polling for runs every second."""
    server = FlowProcess("suspend_probe.py", {**baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1"})
    http = prefect_http(prefect_server.api_url)
    try:
        deployment = wait_for(
            "the deployment to be served",
            lambda: (r := http.get(f"deployments/name/{DEPLOYMENT}")).status_code == 200 and r.json(),
            timeout=45,
            every=0.2,
        )
        yield Served(server, http, str(deployment["id"]))
    finally:
        stop(server)
        http.close()


def test_suspended_deployment_run_holds_no_process_and_resumes_from_cache(
    served: Served, gateway: RunningGateway, sandbox: Sandbox, tmp_path: Path
) -> None:
    tag = f"suspend-{uuid.uuid4().hex[:8]}"
    before, after = f"admin GET /inbox/{tag}-before.json", f"admin GET /inbox/{tag}-after.json"
    pid_file = tmp_path / "pids"
    serve_pid = served.server.proc.pid
    run_id = served.start(admin_url=sandbox.urls["admin"], tag=tag, pid_file=str(pid_file))
    try:
        state = served.wait_suspended(run_id, "logout")
        assert state["name"] == "Suspended" and state["state_details"]["pause_reschedule"] is True
        first_pid = int(pid_file.read_text().split()[0])
        assert first_pid != serve_pid  # the runner ran the flow in a child process ...
        wait_for("the flow's process to exit", lambda: not alive(first_pid) and not flow_processes(serve_pid))
        time.sleep(1.5)  # ... which exited; and the runner starts none while the run waits
        assert flow_processes(serve_pid) == [] and not alive(first_pid)
        assert served.server.proc.poll() is None
        assert (sandbox.world.calls[before], sandbox.world.calls[after]) == (1, 0)

        message = step_message(sandbox, run_id)
        click = state_of(sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
        clicked = time.monotonic()
        assert click.status == 200, click.body
        wait_for("the task after the step", lambda: sandbox.world.calls[after] == 1, timeout=30, every=0.01)
        latency = time.monotonic() - clicked
        final = served.wait_final(run_id)
    finally:
        served.cancel_if_paused(run_id)
    print(f"\nsuspend: click → next task {latency:.2f} s (PREFECT_RUNNER_POLL_FREQUENCY=1)")
    assert final["type"] == "COMPLETED", (final, served.server.output()[-3000:])

    # the call before the step ran once: the rerun got the task's persisted result back, Cached
    assert (sandbox.world.calls[before], sandbox.world.calls[after]) == (1, 1)
    tasks = served.http.post("task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    names = sorted((t["name"].split("-")[0], t["state"]["name"]) for t in tasks)
    assert ("call_sandbox", "Cached") in names, names
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2 and pids[0] != pids[1], pids  # a new process ran the flow from the top
    history = [s["name"] for s in served.http.get("flow_run_states/", params={"flow_run_id": run_id}).json()]
    assert "Suspended" in history and "Resuming" in history, history

    # one Slack message for the step, answered once; the answer is Slack-attested
    mine = [m for m in state_of(sandbox.world).messages("C0HANDOVER") if tag in json.dumps(m.get("blocks") or [])]
    assert len(mine) == 1, mine
    assert "Done* by <@U0BOB0001>" in str(mine[0]["blocks"]) and "baton_done" not in str(mine[0]["blocks"])
    text = served.logs(run_id, until="answered 'done' by U0BOB0001 via slack (verified")
    assert text.count("human step logout answered") == 1


def test_refused_answer_is_not_replayed_after_the_next_suspend(
    served: Served, gateway: RunningGateway, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A wrong answer (approve, to a task step) is refused and said once in the thread; the step suspends
    again at ``logout-r1``; the next rerun from the top skips the refused answer instead of judging and
    announcing it again."""
    tag = f"refuse-{uuid.uuid4().hex[:8]}"
    pid_file = tmp_path / "pids"
    run_id = served.start(admin_url=sandbox.urls["admin"], tag=tag, pid_file=str(pid_file))
    try:
        served.wait_suspended(run_id, "logout")
        wrong = {"outcome": "approve", "responder": "mallory", "via": "prefect-ui"}
        reply = served.resume(run_id, wrong)
        assert reply["status"] == "ACCEPT", reply
        served.wait_suspended(run_id, "logout-r1")
        message = step_message(sandbox, run_id)
        click = state_of(sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
        assert click.status == 200, click.body
        final = served.wait_final(run_id)
    finally:
        served.cancel_if_paused(run_id)
    assert final["type"] == "COMPLETED", (final, served.server.output()[-3000:])
    assert len(pid_file.read_text().split()) == 3  # first run, after the refused answer, after the click
    slack = state_of(sandbox.world)
    mine = [m for m in slack.messages("C0HANDOVER") if tag in json.dumps(m.get("blocks") or [])]
    assert len(mine) == 1 and "Done* by <@U0BOB0001>" in str(mine[0]["blocks"])
    thread = [m for m in slack.messages("C0HANDOVER", include_replies=True) if m.get("thread_ts") == mine[0]["ts"]]
    refusals = [m for m in thread if "not accepted" in str(m.get("text", "")) + str(m.get("blocks", ""))]
    assert len(refusals) == 1, refusals
    assert "'approve' is not an answer to this task step" in str(refusals[0])
    text = served.logs(run_id, until="answered 'done' by U0BOB0001 via slack (verified")
    assert text.count("answer to logout via prefect-ui refused") == 1, text
