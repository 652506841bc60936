"""``python -m baton.cli``: an operator without Slack lists waiting runs and answers a human step.

A step_probe flow runs in its own process and pauses; the CLI (a subprocess, env = baton_env) lists it
with its instruction and resumes it; the flow's RESULT shows the answer as self-declared, via cli.
Every refusal exits 2 and leaves the run paused with no answer stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from baton.cli import _span, outcome_refusal
from baton.devstack import PrefectServer, free_port
from clients.prefect_api import prefect_http
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import ROOT, FlowProcess

HEALTHZ = "admin GET /healthz"  # step_probe's tasks call the sandbox admin host before and after the step


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m baton.cli ARGS`` as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "baton.cli", *args],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _run_ids(http: httpx.Client, flow_name: str) -> set[str]:
    runs = http.post("flow_runs/filter", json={"flows": {"name": {"any_": [flow_name]}}, "limit": 200}).json()
    return {str(r["id"]) for r in runs}


@dataclass
class Waiting:
    flow: FlowProcess
    run: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.run["id"])


def start_paused(env: dict[str, str], api_url: str, *args: str, timeout: float = 60) -> Waiting:
    """Start step_probe in its own process; return once *its* run (not an older one) waits with its form stored."""
    with prefect_http(api_url) as http:
        known = _run_ids(http, "step-probe")
        flow = FlowProcess("step_probe.py", env, *args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run_id in _run_ids(http, "step-probe") - known:
                run = http.get(f"flow_runs/{run_id}").json()
                state = run["state"]
                if state["type"] == "PAUSED":
                    schema = state["state_details"]["run_input_keyset"]["schema"]
                    if http.get(f"flow_runs/{run_id}/input/{schema}").status_code == 200:
                        return Waiting(flow, run)
            if flow.proc.poll() is not None:
                raise AssertionError(f"the flow exited early:\n{flow.output()[-3000:]}")
            time.sleep(0.2)
    flow.kill()
    raise AssertionError(f"no new paused step-probe run within {timeout} s:\n{flow.output()[-3000:]}")


def state_of_run(api_url: str, run_id: str) -> dict[str, Any]:
    with prefect_http(api_url) as http:  # rides out a busy SQLite server's 503
        state: dict[str, Any] = http.get(f"flow_runs/{run_id}").json()["state"]
    return state


def no_answer_stored(api_url: str, waiting: Waiting) -> bool:
    response = waiting.run["state"]["state_details"]["run_input_keyset"]["response"]
    with prefect_http(api_url) as http:
        return http.get(f"flow_runs/{waiting.id}/input/{response}").status_code == 404


def finish(env: dict[str, str], api_url: str, waiting: Waiting) -> None:
    """Leave no paused step-probe run behind (other tests look for the newest one)."""
    for outcome in ("problem", "reject"):  # whichever the step's kind takes
        if state_of_run(api_url, waiting.id)["type"] != "PAUSED":
            break
        cli(env, "resume", waiting.id, "--outcome", outcome, "--note", "test cleanup", "--as", "pytest")
    try:
        waiting.flow.proc.wait(timeout=20)
    finally:
        waiting.flow.kill()
        if state_of_run(api_url, waiting.id)["type"] == "PAUSED":
            with prefect_http(api_url) as http:
                http.post(
                    f"flow_runs/{waiting.id}/set_state",
                    json={"state": {"type": "CANCELLED", "name": "Cancelled"}, "force": True},
                )


def test_help_explains_the_commands_and_exit_codes() -> None:
    done = cli({}, "--help")
    assert done.returncode == 0, done.stderr
    assert "paused" in done.stdout and "resume" in done.stdout
    assert "self-declared" in done.stdout and "Exit codes" in done.stdout
    resume = cli({}, "resume", "--help")
    assert resume.returncode == 0 and "--outcome" in resume.stdout and "--as" in resume.stdout


def test_paused_lists_the_step_then_resume_answers_it(
    baton_env: dict[str, str], prefect_server: PrefectServer, sandbox: Sandbox
) -> None:
    api = prefect_server.api_url
    waiting = start_paused(baton_env, api, "kind=task", f"admin_url={sandbox.urls['admin']}")
    try:
        listed = cli(baton_env, "paused")
        assert listed.returncode == 0, listed.stderr
        block = listed.stdout.split(waiting.id, 1)[1].split("\n  answer:", 1)[0]  # this run's block
        assert f"\n  answer:      baton resume {waiting.id} --outcome done|problem --note" in listed.stdout
        assert block.startswith(f"  step-probe / {waiting.run['name']}  [Paused]")
        assert "step:        probe (task)" in block and "waiting:     since " in block
        assert "deadline:    " in block and " UTC (in " in block  # step_probe's deadline: 600 s
        assert f"open:        {prefect_server.ui_url}/runs/flow-run/{waiting.id}" in block
        assert "## Log out of Salesforce" in block
        assert "**Log out** of Salesforce in every browser tab, then press Done." in block

        rows = [json.loads(line) for line in cli(baton_env, "paused", "--json").stdout.splitlines()]
        row = next(r for r in rows if r["run_id"] == waiting.id)
        assert (row["flow"], row["step"], row["kind"], row["state"]) == ("step-probe", "probe", "task", "Paused")
        assert "Log out" in row["instruction"] and row["since"]

        before = sandbox.world.calls[HEALTHZ]
        started = time.monotonic()
        done = cli(baton_env, "resume", waiting.id, "--outcome", "done", "--note", "all tabs closed", "--as", "alice")
        answered = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert f"Resumed run {waiting.id}" in done.stdout and "done as alice (self-declared, via cli)" in done.stdout
        while sandbox.world.calls[HEALTHZ] == before and time.monotonic() - answered < 30:
            time.sleep(0.02)
        moved_on = time.monotonic()
        result = waiting.flow.wait()
    finally:
        finish(baton_env, api, waiting)
    print(f"\nCLI resume: command {answered - started:.2f} s, then next task after {moved_on - answered:.2f} s")
    assert result["outcome"] == "done" and result["note"] == "all tabs closed"
    assert result["via"] == "cli" and result["verified"] is False and result["responder"] == "alice"
    assert "answered 'done' by alice via cli (self-declared)" in waiting.flow.output()
    meta = prefect_http(api).get(f"flow_runs/{waiting.id}/input/baton-step-probe").json()
    final = state_of(sandbox.world).message(meta["channel"], meta["ts"])
    assert "*Done* by alice at" in str(final["blocks"]) and "(via cli, self-declared)" in str(final["blocks"])
    assert waiting.id not in cli(baton_env, "paused").stdout


@pytest.fixture(scope="module")
def task_waiting(baton_env: dict[str, str], prefect_server: PrefectServer) -> Iterator[Waiting]:
    """One paused task step that every refusal test tries (and fails) to answer."""
    waiting = start_paused(baton_env, prefect_server.api_url, "kind=task")
    yield waiting
    finish(baton_env, prefect_server.api_url, waiting)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--outcome", "done", "--note", "see {{ prefect.variables.token }}"], "--note holds template markers"),
        (["--outcome", "done", "--note", "{% for x in y %}"], "--note holds template markers"),
        (["--outcome", "done", "--as", "{{ 7*7 }}"], "--as holds template markers"),
        (["--outcome", "approve"], "'approve' is not an answer to this task step; use --outcome done or --outcome"),
        (["--outcome", "maybe"], "'maybe' is not one of"),
        (["--outcome", "done", "--note", "x" * 2001], "--note is longer than 2000 characters"),
    ],
    ids=["jinja-note", "jinja-block", "jinja-responder", "approve-on-task", "unknown-outcome", "note-too-long"],
)
def test_refused_answers_send_nothing(
    baton_env: dict[str, str], prefect_server: PrefectServer, task_waiting: Waiting, args: list[str], says: str
) -> None:
    done = cli(baton_env, "resume", task_waiting.id, "--as", "mallory", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr
    assert state_of_run(prefect_server.api_url, task_waiting.id)["name"] == "Paused"
    assert no_answer_stored(prefect_server.api_url, task_waiting)


def test_unknown_run_is_refused(baton_env: dict[str, str]) -> None:
    for run_id in (str(uuid.uuid4()), "not-a-run-id"):
        done = cli(baton_env, "resume", run_id, "--outcome", "done", "--as", "alice")
        assert done.returncode == 2, done.stderr
        assert f"refused (nothing sent): there is no run {run_id}" in done.stderr


def test_run_that_is_not_paused_is_refused(baton_env: dict[str, str], prefect_server: PrefectServer) -> None:
    api = prefect_server.api_url
    with prefect_http(api) as http:
        flow_id = http.post("flows/", json={"name": "cli-not-paused"}).json()["id"]
        run = http.post("flow_runs/", json={"flow_id": flow_id, "state": {"type": "COMPLETED"}}).json()
    done = cli(baton_env, "resume", run["id"], "--outcome", "done", "--as", "alice")
    assert done.returncode == 2, done.stderr
    assert f"run {run['id']} is Completed, not waiting for an answer" in done.stderr
    assert state_of_run(api, run["id"])["type"] == "COMPLETED"


def test_approval_only_rejects_from_the_cli(
    baton_env: dict[str, str], prefect_server: PrefectServer, sandbox: Sandbox
) -> None:
    api = prefect_server.api_url
    waiting = start_paused(baton_env, api, "kind=approval", "requested_by=carol@acme.example")
    try:
        listed = cli(baton_env, "paused").stdout.split(waiting.id, 1)[1]
        assert f"answer:      in Slack; from here only: baton resume {waiting.id} --outcome reject " in listed
        wrong = cli(baton_env, "resume", waiting.id, "--outcome", "done", "--as", "dana")
        assert wrong.returncode == 2 and "'done' is not an answer to this approval step" in wrong.stderr
        approve = cli(baton_env, "resume", waiting.id, "--outcome", "approve", "--as", "dana")
        assert approve.returncode == 2 and "approvals are accepted only through Slack" in approve.stderr
        assert no_answer_stored(api, waiting)
        reject = cli(baton_env, "resume", waiting.id, "-o", "reject", "-n", "wrong successor", "--as", "dana")
        assert reject.returncode == 0, reject.stderr
        result = waiting.flow.wait()
    finally:
        finish(baton_env, api, waiting)
    assert (result["outcome"], result["via"], result["verified"], result["responder"]) == (
        "reject",
        "cli",
        False,
        "dana",
    )


def test_unreachable_prefect_fails_with_exit_1(baton_env: dict[str, str]) -> None:
    env = {**baton_env, "BATON_PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    done = cli(env, "resume", str(uuid.uuid4()), "--outcome", "done", "--as", "alice")
    assert done.returncode == 1 and "cannot reach Prefect" in done.stderr
    listed = cli(env, "paused")
    assert listed.returncode == 1 and "check BATON_PREFECT_API_URL" in listed.stderr


def test_responder_defaults_to_user_and_is_required(baton_env: dict[str, str]) -> None:
    env = {k: v for k, v in {**os.environ, **baton_env}.items() if k != "USER"}
    done = subprocess.run(
        [sys.executable, "-m", "baton.cli", "resume", str(uuid.uuid4()), "--outcome", "done"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "say who is answering with --as NAME" in done.stderr


@pytest.mark.parametrize(
    ("kind", "outcome", "allowed"),
    [
        ("task", "done", True), ("task", "problem", True), ("task", "approve", False),
        ("approval", "reject", True), ("approval", "approve", False), ("approval", "done", False),
        ("secret", "problem", True), ("secret", "done", False), ("", "approve", True), ("", "done", True),
    ],
)  # fmt: skip
def test_outcomes_the_cli_may_send(kind: str, outcome: str, allowed: bool) -> None:
    assert (outcome_refusal(kind, outcome, approvals_slack_only=True) == "") is allowed
    if kind == "approval" and outcome == "approve":
        assert outcome_refusal(kind, outcome, approvals_slack_only=False) == ""


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "0 s"), (119, "119 s"), (120, "2 min"), (7199, "119 min"), (7200, "2.0 h"), (3 * 86400, "3.0 days")],
)
def test_waiting_times_read_as_people_say_them(seconds: float, said: str) -> None:
    assert _span(seconds) == said
