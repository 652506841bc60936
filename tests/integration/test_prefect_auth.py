"""Who can resume a run: only whoever holds the Prefect server's auth string (PREFECT_SERVER_API_AUTH_STRING).

The session's Prefect server runs with its HTTP Basic authentication on (baton/devstack.py). A step_probe
run waits at a task step; then every way to answer it, skip it or read it without the auth string (no
header, a wrong password, a wrong user, another scheme, garbage) is refused with 401 and changes nothing:
the run stays paused, no answer is stored, nothing after the step runs. The CLI without the auth string, or
with a wrong one, fails with exit 1 and says which setting to fix. With it, the CLI's answer resumes the run.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from baton.devstack import PrefectServer
from clients.prefect_api import PrefectAPI, PrefectUnauthorized
from sandbox.server import Sandbox
from tests.figures import record
from tests.flows import probe_runs
from tests.harness import ROOT, FlowProcess

HEALTHZ = "admin GET /healthz"  # step_probe calls it once before the step and once after
ANSWER = {"run_input": {"outcome": "done", "responder": "mallory", "via": "prefect-ui", "note": "skipped"}}


def _basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


def unauthenticated_headers(auth_string: str) -> dict[str, dict[str, str]]:
    """Every Authorization a caller without the auth string might send (none of them the right one)."""
    user, password = auth_string.split(":", 1)
    return {
        "no header": {},
        "wrong password": {"Authorization": _basic(f"{user}:{password}x")},
        "wrong user": {"Authorization": _basic(f"admin:{password}")},
        "empty password": {"Authorization": _basic(f"{user}:")},
        "password only": {"Authorization": _basic(password)},
        "bearer scheme": {"Authorization": f"Bearer {auth_string}"},
        "not base64": {"Authorization": "Basic !!!not-base64!!!"},
        "unencoded": {"Authorization": f"Basic {auth_string}"},
        "scheme only": {"Authorization": "Basic"},
    }


def attempts(run_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body): resuming, answering through an input, forcing it on, reading it."""
    return [
        ("POST", f"flow_runs/{run_id}/resume", ANSWER),
        ("POST", f"flow_runs/{run_id}/set_state", {"state": {"type": "RUNNING"}, "force": True}),
        ("POST", f"flow_runs/{run_id}/set_state", {"state": {"type": "COMPLETED"}, "force": True}),
        ("POST", f"flow_runs/{run_id}/input", {"key": "paused-probe-response", "value": "{}"}),
        ("GET", f"flow_runs/{run_id}", None),
        ("POST", "flow_runs/filter", {"limit": 1}),
    ]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton.cli", *args],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_prefect_server_requires_its_auth_string(prefect_server: PrefectServer) -> None:
    assert prefect_server.auth_string and prefect_server.auth_string.startswith("baton:")
    assert len(prefect_server.auth_string) >= len("baton:") + 32
    assert httpx.get(f"{prefect_server.api_url}/health").status_code == 200  # the probe stays open (by design)
    assert httpx.get(f"{prefect_server.api_url}/admin/version").status_code == 401
    assert httpx.get(f"{prefect_server.ui_url}/ui-settings").json()["auth"] == "BASIC"  # the UI asks for a login
    with prefect_server.http() as http:
        assert http.get("admin/version").status_code == 200
    with pytest.raises(PrefectUnauthorized, match="BATON_PREFECT_API_AUTH_STRING"):
        PrefectAPI(prefect_server.api_url, auth_string="baton:wrong").paused_runs(1)
    assert PrefectServer(prefect_server.home).auth_string != prefect_server.auth_string  # random per server
    # for a person at the UI: the login file, its owner's only; never in the server's log
    assert prefect_server.login_file.read_text().strip() == prefect_server.auth_string
    assert prefect_server.login_file.stat().st_mode & 0o777 == 0o600
    assert prefect_server.auth_string not in (prefect_server.home / "server.log").read_text()


@pytest.mark.slow
def test_an_unauthenticated_resume_is_refused_and_the_run_stays_paused(
    baton_env: dict[str, str], prefect_server: PrefectServer, sandbox: Sandbox
) -> None:
    api = prefect_server.api_url
    assert prefect_server.auth_string
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    before = sandbox.world.calls[HEALTHZ]
    flow = FlowProcess("step_probe.py", baton_env, "kind=task", f"admin_url={sandbox.urls['admin']}", "deadline=300")
    run_id = ""
    refused: list[str] = []
    try:
        run = probe_runs.find_paused(api, "step-probe", since=since, where={"kind": "task", "deadline": 300})
        run_id = str(run["id"])
        with httpx.Client(base_url=api + "/", timeout=10) as stranger:
            for label, headers in unauthenticated_headers(prefect_server.auth_string).items():
                for method, path, body in attempts(run_id):
                    reply = stranger.request(method, path, json=body, headers=headers)
                    assert reply.status_code == 401, (label, method, path, reply.status_code, reply.text)
                    assert reply.json() == {"exception_message": "Unauthorized"}
                    refused.append(f"{label}: {method} {path}")
        for label, value in {"no auth string": "", "a wrong one": "baton:not-the-password"}.items():
            env = {**baton_env, "BATON_PREFECT_API_AUTH_STRING": value, "PREFECT_API_AUTH_STRING": value}
            done = cli(env, "resume", run_id, "--outcome", "done", "--as", "mallory")
            assert done.returncode == 1, (label, done.stdout, done.stderr)
            assert "Prefect refused Baton's credentials (HTTP 401)" in done.stderr, done.stderr
            assert "BATON_PREFECT_API_AUTH_STRING" in done.stderr
            assert prefect_server.auth_string not in done.stderr + done.stdout
            refused.append(f"cli with {label}")
        # nothing changed: still paused at the step, no answer stored, nothing after the step ran
        kind, name, key = probe_runs.state_of(api, run_id)
        assert (kind, key) == ("PAUSED", "probe"), (kind, name, key)
        assert probe_runs.answers(api, run) == (0, 0)
        assert sandbox.world.calls[HEALTHZ] == before + 1  # the call before the step only
        assert flow.proc.poll() is None
        # with the auth string (the CLI has it in BATON_PREFECT_API_AUTH_STRING), the answer goes through
        answered = cli(baton_env, "resume", run_id, "--outcome", "done", "--as", "alice", "--note", "logged out")
        assert answered.returncode == 0, answered.stderr
        result = flow.wait(timeout=60)
    finally:
        flow.kill()
        if run_id:
            probe_runs.cancel_if_open(api, run_id)
    record("prefect-auth", unauthenticated_refused=len(refused), resumed_unauthenticated=0)
    print(f"\nPrefect auth: {len(refused)} unauthenticated attempts refused (401), run stayed paused; then resumed")
    assert len(refused) == 9 * 6 + 2
    assert (result["outcome"], result["responder"], result["via"]) == ("done", "alice", "cli")
    assert sandbox.world.calls[HEALTHZ] == before + 2
    assert probe_runs.answers(api, run) == (1, 1)  # the one answer, stored and recorded
