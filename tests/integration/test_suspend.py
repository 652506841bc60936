"""A deployment run (served by ``serve()`` in its own process) suspends at a human step: no process
holds it while it waits; a signed Slack click resumes it; a new process runs the flow from the top,
the task before the step comes back Cached (the sandbox saw its call once) and the Slack message is
not posted again."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from baton.devstack import PrefectServer
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


def test_suspended_deployment_run_holds_no_process_and_resumes_from_cache(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer, tmp_path: Path
) -> None:
    api = prefect_server.api_url
    http = httpx.Client(base_url=api + "/", timeout=10)
    tag = f"suspend-{uuid.uuid4().hex[:8]}"
    before, after = f"admin GET /inbox/{tag}-before.json", f"admin GET /inbox/{tag}-after.json"
    pid_file = tmp_path / "pids"
    server = FlowProcess("suspend_probe.py", {**baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1"})
    run_id = ""
    try:
        deployment = wait_for(
            "the deployment to be served",
            lambda: (r := http.get(f"deployments/name/{DEPLOYMENT}")).status_code == 200 and r.json(),
            timeout=45,
            every=0.2,
        )
        params = {"admin_url": sandbox.urls["admin"], "tag": tag, "pid_file": str(pid_file)}
        reply = http.post(f"deployments/{deployment['id']}/create_flow_run", json={"parameters": params})
        assert reply.status_code == 201, reply.text
        run_id = reply.json()["id"]

        def suspended() -> dict[str, Any] | None:
            state: dict[str, Any] = http.get(f"flow_runs/{run_id}").json()["state"]
            if state["type"] != "PAUSED":
                return None
            keyset = state["state_details"]["run_input_keyset"]
            return state if http.get(f"flow_runs/{run_id}/input/{keyset['schema']}").status_code == 200 else None

        state = wait_for("the run to suspend", suspended, timeout=45, every=0.2)
        assert state["name"] == "Suspended" and state["state_details"]["pause_key"] == "logout"
        assert state["state_details"]["pause_reschedule"] is True
        first_pid = int(pid_file.read_text().split()[0])
        assert first_pid != server.proc.pid  # the runner ran the flow in a child process ...
        wait_for("the flow's process to exit", lambda: not alive(first_pid) and not flow_processes(server.proc.pid))
        time.sleep(1.5)  # ... which exited; and the runner starts none while the run waits
        assert flow_processes(server.proc.pid) == [] and not alive(first_pid)
        assert server.proc.poll() is None
        assert (sandbox.world.calls[before], sandbox.world.calls[after]) == (1, 0)

        message = step_message(sandbox, run_id)
        click = state_of(sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
        clicked = time.monotonic()
        assert click.status == 200, click.body
        wait_for("the task after the step", lambda: sandbox.world.calls[after] == 1, timeout=30, every=0.01)
        latency = time.monotonic() - clicked
        final = wait_for(
            "the run to finish",
            lambda: (
                (s := http.get(f"flow_runs/{run_id}").json()["state"])["type"] in ("COMPLETED", "FAILED", "CRASHED")
                and s
            ),
            every=0.2,
        )
    finally:
        stop(server)
        if run_id and http.get(f"flow_runs/{run_id}").json()["state"]["type"] == "PAUSED":
            http.post(f"flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLED"}, "force": True})
    print(f"\nsuspend: click → next task {latency:.2f} s (PREFECT_RUNNER_POLL_FREQUENCY=1)")
    assert final["type"] == "COMPLETED", (final, server.output()[-3000:])

    # the call before the step ran once: the rerun got the task's persisted result back, Cached
    assert (sandbox.world.calls[before], sandbox.world.calls[after]) == (1, 1)
    tasks = http.post("task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    names = sorted((t["name"].split("-")[0], t["state"]["name"]) for t in tasks)
    assert ("call_sandbox", "Cached") in names, names
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2 and pids[0] != pids[1], pids  # a new process ran the flow from the top
    history = [s["name"] for s in http.get("flow_run_states/", params={"flow_run_id": run_id}).json()]
    assert "Suspended" in history and "Resuming" in history, history

    # one Slack message for the step, answered once; the answer is Slack-attested
    slack = state_of(sandbox.world)
    mine = [m for m in slack.messages("C0HANDOVER") if tag in json.dumps(m.get("blocks") or [])]
    assert len(mine) == 1, mine
    assert "Done* by <@U0BOB0001>" in str(mine[0]["blocks"]) and "baton_done" not in str(mine[0]["blocks"])
    logs = http.post("logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}).json()
    text = "\n".join(log["message"] for log in logs)
    assert "answered 'done' by U0BOB0001 via slack (verified" in text, text
    assert text.count("human step logout answered") == 1
    http.close()
