"""Fixtures that wire Baton to the real parts: settings for the sandbox + OpenBao + Prefect, an
in-process gateway, and helpers to run a flow script in its own process and find its paused run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from baton.devstack import OpenBaoDevServer, PrefectServer, free_port
from baton.stackenv import settings_from, stack_env
from clients.factory import custody_from, slack_from
from clients.prefect_api import prefect_http
from gateway.app import build, create_app
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.flows.offboarding_probe import register_deployment

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="session")
def gateway_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def baton_env(
    openbao: OpenBaoDevServer, prefect_server: PrefectServer, sandbox: Sandbox, gateway_port: int
) -> dict[str, str]:
    """BATON_* and PREFECT_* for a flow or gateway process wired to this session's real parts."""
    slack = state_of(sandbox.world)
    env = stack_env(
        vault_addr=openbao.addr, vault_token=openbao.root_token, prefect=prefect_server, urls=sandbox.urls,
        ca_file=sandbox.ca_file, slack_bot_token=slack.config.bot.token,
        slack_signing_secret=slack.config.signing_secret, gateway_url=f"http://127.0.0.1:{gateway_port}",
    )  # fmt: skip
    env["BATON_OFFBOARDING_DEPLOYMENT"] = register_deployment()  # what POST /hooks/offboarding starts
    return env


@dataclass
class RunningGateway:
    url: str
    log_lines: list[str]


class _Collect(__import__("logging").Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: Any) -> None:
        self.sink.append(self.format(record))


@pytest.fixture(scope="session")
def gateway(baton_env: dict[str, str], sandbox: Sandbox, gateway_port: int) -> Iterator[RunningGateway]:
    """Baton's gateway in this process (uvicorn in a thread); the Slack stand-in posts clicks to it."""
    import logging

    settings = settings_from(baton_env)
    app = create_app(build(settings, custody_from(settings), slack_from(settings)))
    lines: list[str] = []
    handler = _Collect(lines)
    for name in ("baton", "uvicorn"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=gateway_port, log_level="info", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{gateway_port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    state_of(sandbox.world).set_request_url(url + "/slack/actions")
    yield RunningGateway(url=url, log_lines=lines)
    server.should_exit = True
    thread.join(timeout=5)


class FlowProcess:
    """A flow script run in its own process (as a worker would), with its output kept."""

    def __init__(self, script: str | Path, env: dict[str, str], *args: str) -> None:
        path = Path(script) if Path(script).is_absolute() else ROOT / "tests" / "flows" / script
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"baton-flow-{os.getpid()}-{time.monotonic_ns()}.log"
        full = {**os.environ, **env, "PREFECT_LOGGING_LEVEL": "INFO"}
        self.proc = subprocess.Popen(
            [sys.executable, str(path), *args],
            env=full, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait(self, timeout: float = 60) -> dict[str, Any]:
        self.proc.wait(timeout=timeout)
        out = self.log.read_text()
        for line in reversed(out.splitlines()):
            if line.startswith("RESULT="):
                data: dict[str, Any] = json.loads(line.removeprefix("RESULT="))
                return data
        raise AssertionError(f"flow printed no RESULT (exit {self.proc.returncode}):\n{out[-3000:]}")

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_paused(api_url: str, flow_name: str, *, key: str | None = None, timeout: float = 60) -> dict[str, Any]:
    """The newest run of *flow_name* once it is PAUSED (at step *key*, if given) with its input schema stored."""
    deadline = time.monotonic() + timeout
    with prefect_http(api_url) as http:
        while time.monotonic() < deadline:
            runs = http.post(
                "flow_runs/filter",
                json={"flows": {"name": {"any_": [flow_name]}}, "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}},
                      "sort": "EXPECTED_START_TIME_DESC", "limit": 5},
            ).json()  # fmt: skip
            for run in runs:
                state = run["state"]
                pause_key = state["state_details"]["pause_key"]
                if key is not None and pause_key != key:
                    continue
                schema = f"{state['name'].lower()}-{pause_key}-schema"
                if http.get(f"flow_runs/{run['id']}/input/{schema}").status_code == 200:
                    return dict(run)
            time.sleep(0.2)
    raise AssertionError(f"no paused run of {flow_name} within {timeout} s")


def step_message(sandbox: Sandbox, run_id: str) -> dict[str, Any]:
    """The Slack message with the buttons of *run_id*'s current step."""
    for _ in range(50):
        for message in reversed(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)):
            if run_id in json.dumps(message.get("blocks") or []):
                return message
        time.sleep(0.1)
    raise AssertionError(f"no Slack message for run {run_id}")
