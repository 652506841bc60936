"""The crash matrix: run one deployment run of a flow, crash its process at every task boundary and at every
human step (tests/flows/crash_points.py), start the same run again after each crash as a worker restart does
(persisted task results come back Cached), answer each step once as the person would, and hand back what
happened, so that a test can check the run converged (no duplicate object, one working credential, each
step asked once).

Each run attempt is a process of its own (tests/flows/crash_worker.py); the next ones are started (imports)
while the current one runs, and one is released once it has ended, so a crash costs little more than the work
redone. Runs of other deployments the flow starts (offboarding's handovers) are executed the same way,
unarmed: ``CrashMatrix.run_children``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client

from clients.prefect_api import prefect_http
from tests.harness import ROOT, FlowProcess

WORKER = ROOT / "tests" / "flows" / "crash_worker.py"
WAITING = ("PAUSED",)  # a suspended run is PAUSED (name "Suspended") with its input schema stored
ENDED = ("COMPLETED", "FAILED", "CANCELLED")
WARM = 2  # processes kept imported ahead: a short attempt is followed at once by the next


def register(flow: Any, entrypoint: str, name: str = "crash-matrix") -> str:
    """A deployment of *flow* (no work pool: the matrix executes its runs); returns its id."""
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(flow)
        return str(client.create_deployment(flow_id=flow_id, name=name, entrypoint=entrypoint))


class _Warm:
    """A worker process that has imported Prefect and the flow modules and waits for its go file."""

    def __init__(self, env: dict[str, str], modules: list[str], go: Path) -> None:
        self.go = go
        self.flow = FlowProcess(WORKER, {**env, "BATON_TEST_GO_FILE": str(go)}, *modules)

    def release(self, run_id: str, entrypoint: str) -> FlowProcess:
        staged = self.go.with_suffix(".tmp")
        staged.write_text(f"{run_id} {entrypoint}")
        staged.rename(self.go)
        return self.flow


@dataclass
class Outcome:
    """What the matrix saw: each crash point once, each step answered, the run's final state and result."""

    run_id: str
    points: list[str]
    steps: list[str]
    final: dict[str, Any]
    result: dict[str, Any] | None
    attempts: int
    outputs: list[str] = field(default_factory=list)

    def tail(self) -> str:
        return "\n---\n".join(o[-2500:] for o in self.outputs[-2:])


Answer = Callable[[str, str], None]  # (run id, step key): do what the person does, then answer the step


class CrashMatrix:
    """One flow's matrix: ``go(run_id, answer)`` drives the run to its end through every crash point."""

    def __init__(self, api_url: str, env: dict[str, str], workdir: Path, entrypoint: str, modules: list[str]) -> None:
        self.api_url, self.workdir, self.entrypoint = api_url, workdir, entrypoint
        self.crash_file = workdir / "crash"
        self.env = {**env, "BATON_TEST_CRASH_FILE": str(self.crash_file)}
        self.modules = modules
        self.http = prefect_http(api_url)
        self.children: list[FlowProcess] = []
        self._n = 0

    # -- Prefect --------------------------------------------------------------------------------------

    def state(self, run_id: str) -> dict[str, Any]:
        for _ in range(10):  # a busy SQLite server may answer 503 for a moment
            reply = self.http.get(f"flow_runs/{run_id}")
            if reply.status_code == 200:
                state: dict[str, Any] = reply.json()["state"]
                return state
            time.sleep(0.3)
        raise AssertionError(f"flow_runs/{run_id}: {reply.status_code} {reply.text}")

    def waiting_at(self, run_id: str) -> str | None:
        """The step key the run waits at, once its input schema is stored (answers are accepted)."""
        state = self.state(run_id)
        if state["type"] not in WAITING:
            return None
        details = state["state_details"]
        schema = (details.get("run_input_keyset") or {}).get("schema")
        if schema and self.http.get(f"flow_runs/{run_id}/input/{schema}").status_code == 200:
            return str(details["pause_key"])
        return None

    def reschedule(self, run_id: str) -> None:
        """A crashed run (left Running: nobody reported its end) is started again, as after a worker restart."""
        reply = self.http.post(f"flow_runs/{run_id}/set_state",
                               json={"state": {"type": "SCHEDULED", "name": "Rerun"}, "force": True})  # fmt: skip
        assert reply.status_code in (200, 201), reply.text

    def create_run(self, deployment_id: str, **parameters: Any) -> str:
        reply = self.http.post(f"deployments/{deployment_id}/create_flow_run", json={"parameters": parameters})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    # -- processes --------------------------------------------------------------------------------------

    def _warm(self) -> _Warm:
        self._n += 1
        return _Warm(self.env, self.modules, self.workdir / f"go-{self._n}")

    def run_children(self, deployments: dict[str, str], env: dict[str, str]) -> int:
        """Execute, unarmed, every Scheduled run of *deployments* (id -> entrypoint) that is due; returns how many."""
        reply = self.http.post("flow_runs/filter", json={
            "deployments": {"id": {"any_": list(deployments)}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 50,
        })  # fmt: skip
        started = 0
        for run in reply.json():
            when = run["state"]["state_details"].get("scheduled_time") or run["expected_start_time"]
            if when and time.time() < _timestamp(when):
                continue
            self._n += 1
            go = self.workdir / f"child-{self._n}"
            go.write_text(f"{run['id']} {deployments[run['deployment_id']]}")
            pending = self.http.post(f"flow_runs/{run['id']}/set_state",
                                     json={"state": {"type": "PENDING"}})  # fmt: skip
            if pending.json().get("status") != "ACCEPT":
                continue  # taken already
            self.children.append(FlowProcess(WORKER, {**env, "BATON_TEST_GO_FILE": str(go)}, *self.modules))
            started += 1
        return started

    def go(self, run_id: str, answer: Answer, *, after_each: Callable[[], None] | None = None,
           meanwhile: Callable[[], None] | None = None, timeout: float = 300) -> Outcome:  # fmt: skip
        """Drive *run_id* to its end: crash, start again, answer each step when the run waits for it.
        *after_each* is called whenever a process has ended (crashed or waiting): the invariants that hold
        at every crash point (never two of an object, never a current credential that does not work);
        *meanwhile* every 0.1 s while a process runs (e.g. ``run_children``)."""
        self.crash_file.write_text("armed")
        log = self.crash_file.with_suffix(".log")
        log.unlink(missing_ok=True)
        steps: list[str] = []
        outputs: list[str] = []
        attempts = 0
        deadline = time.monotonic() + timeout
        warm = [self._warm() for _ in range(WARM)]
        try:
            while True:
                flow = warm.pop(0).release(run_id, self.entrypoint)
                warm.append(self._warm())
                attempts += 1
                assert attempts < 80, log.read_text()
                while flow.proc.poll() is None:
                    assert time.monotonic() < deadline, flow.output()[-3000:]
                    if meanwhile is not None:
                        meanwhile()
                    key = self.waiting_at(run_id)
                    if key is not None and key not in steps:
                        flow.kill()  # while the person is asked, nothing holds the run: kill what is left
                        break
                    time.sleep(0.1)
                flow.proc.wait(timeout=60)
                outputs.append(flow.output())
                if after_each is not None:
                    after_each()
                state = self.state(run_id)
                if state["type"] in ENDED:
                    break
                key = self.waiting_at(run_id)
                if key is None and state["type"] in WAITING:  # suspended, its schema not stored yet
                    key = _until(lambda: self.waiting_at(run_id), 30)
                if key is not None:
                    assert key not in steps, f"step {key} asked again:\n{flow.output()[-3000:]}"
                    steps.append(key)
                    answer(run_id, key)
                    _until(lambda: self.state(run_id)["type"] not in WAITING or None, 60)
                    if self.state(run_id)["type"] != "SCHEDULED":
                        self.reschedule(run_id)
                    continue
                assert flow.proc.returncode == 137, (state, flow.output()[-3000:])
                self.reschedule(run_id)
        finally:
            self.crash_file.unlink(missing_ok=True)
            for spare in warm:
                spare.flow.kill()
        final = self.state(run_id)
        return Outcome(run_id=run_id, points=log.read_text().split() if log.exists() else [], steps=steps, final=final,
                       result=_result(outputs[-1]), attempts=attempts, outputs=outputs)  # fmt: skip

    def close(self) -> None:
        for child in self.children:
            child.kill()
        self.http.close()


def _until(check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _timestamp(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _result(output: str) -> dict[str, Any] | None:
    lines = [line for line in output.splitlines() if line.startswith("RESULT=")]
    value = json.loads(lines[-1].removeprefix("RESULT=")) if lines else None
    return value if isinstance(value, dict) else None


def slack_click(
    sandbox: Any, message: dict[str, Any], who: str = "bob@acme.example", action: str = "baton_done"
) -> None:
    """Press a button of a step's Slack message (signed by the Slack stand-in, sent to the gateway)."""
    from sandbox.slack import state_of

    click = state_of(sandbox.world).click(who, "C0HANDOVER", message["ts"], action)
    assert click.status == 200, click.body


def step_message(sandbox: Any, run_id: str, key: str) -> dict[str, Any]:
    """The Slack message of step *key* of run *run_id* (posted once: the test checks it with ``posts``)."""
    found = posts(sandbox, run_id, key)
    assert found, f"no Slack message for step {key} of run {run_id}"
    return found[-1]


def posts(sandbox: Any, run_id: str, key: str) -> list[dict[str, Any]]:
    """Every Slack message of step *key* of run *run_id* (also once answered: its ``history`` keeps the ask)."""
    from sandbox.slack import state_of

    marker = f'\\"key\\": \\"{key}\\"'
    return [m for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)
            if run_id in (text := json.dumps(m)) and marker in text]  # fmt: skip
