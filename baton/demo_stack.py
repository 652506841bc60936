"""The demo's stack, all on loopback: OpenBao (set up for Baton), the sandbox's stand-ins (the sample scenario),
a local Prefect server (SQLite), Baton's gateway and ``python -m baton.serve`` (what prefect.yaml declares).
Every part is stopped, in reverse order, by ``Stack.stop()``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import uvicorn

from baton.autopilot import wait_for
from baton.devstack import OpenBaoDevServer, PrefectServer, free_port
from baton.stackenv import settings_from, stack_env
from clients.factory import custody_from, slack_from
from deployments.vault.setup import new_secret_id, setup_vault
from gateway.app import build, create_app
from sandbox.server import Sandbox
from sandbox.slack import state_of

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "deployments" / "catalog" / "alice-leaving.yaml"
SCENARIO = ROOT / "sandbox" / "scenarios" / "alice-leaving.yaml"
DEPLOYMENTS = ["offboard-person", "rotate-salesforce-jira-connector", "change-intercom-app-user",
               "create-jotform-api-only-user"]  # fmt: skip


def pick_port(wanted: int, what: str, say: Callable[[str], None]) -> int:
    """*wanted* if it is free on loopback, else a free one (and say so); 0 always picks a free one."""
    if wanted:
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            say(f"  port {wanted} is taken; {what} takes a free port instead")
    return free_port()


def _replaced(value: str, replace: dict[str, str]) -> str:
    """*value* with every key of *replace* swapped for its value, in one pass (longest first); a value already
    swapped (the sandbox's own, read from the new scenario) stays as it is."""
    if not replace:
        return value
    swaps = {new: new for new in replace.values()} | replace
    pattern = "|".join(re.escape(old) for old in sorted(swaps, key=len, reverse=True))
    return re.sub(pattern, lambda m: swaps[m.group(0)], value)


class _Gateway:
    def __init__(self, env: dict[str, str], port: int) -> None:
        settings = settings_from(env)
        gateway = create_app(build(settings, custody_from(settings), slack_from(settings)))
        config = uvicorn.Config(gateway, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for("the gateway", lambda: self.server.started, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _Served:
    """``python -m baton.serve`` in its own process group (its flow-run processes stop with it)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "baton.serve"], env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@dataclass
class Running:
    bao: OpenBaoDevServer
    sandbox: Sandbox
    prefect: PrefectServer
    env: dict[str, str]
    gateway_url: str

    @property
    def slack_page(self) -> str:
        return f"{self.sandbox.urls['slack']}/sandbox/slack/app?channel=C0HANDOVER&as=bob@acme.example"


class Stack:
    """Everything the demo starts, stopped in reverse order (also on failure and Ctrl-C)."""

    def __init__(self) -> None:
        self.parts: list[Any] = []

    def add(self, part: Any) -> Any:
        self.parts.append(part)
        return part

    def stop(self, say: Callable[[str], None]) -> None:
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                say(f"  (stopping {type(part).__name__}: {exc})")
        self.parts.clear()

    def start(
        self, state_dir: Path, prefect_port: int, gateway_port: int, say: Callable[[str], None], *,
        scenario: Path = SCENARIO, replace: dict[str, str] | None = None, approle: bool = False,
    ) -> Running:  # fmt: skip
        """Start every part. *scenario* is the sandbox's world; *replace* swaps secret values in the settings (a
        scenario with other secrets, e.g. the canary test's); *approle*: Baton logs in to Vault by AppRole."""
        began = time.monotonic()

        def step(text: str) -> None:
            say(f"[{time.monotonic() - began:6.1f}s] {text}")

        step("1/5 OpenBao dev server, set up for Baton (KV v2, policy, AppRole) ...")
        bao = self.add(OpenBaoDevServer(state_dir / "openbao").start())
        vault = setup_vault(hvac.Client(url=bao.addr, token=bao.root_token))
        step(f"2/5 the sandbox (Salesforce, Jira, Intercom, Jotform, Slack) with {scenario.name} ...")
        sandbox = self.add(Sandbox(scenario).start())
        step("3/5 Prefect server (SQLite; about 20 s on a fresh database) ...")
        prefect = self.add(PrefectServer(state_dir / "prefect", port=pick_port(prefect_port, "Prefect", say)).start())
        slack = state_of(sandbox.world)
        gateway_url = f"http://127.0.0.1:{pick_port(gateway_port, 'the gateway', say)}"
        env = stack_env(
            vault_addr=bao.addr, vault_token=bao.root_token, prefect=prefect, urls=sandbox.urls,
            ca_file=sandbox.ca_file, slack_bot_token=slack.config.bot.token,
            slack_signing_secret=slack.config.signing_secret, gateway_url=gateway_url,
        )  # fmt: skip
        env = {k: _replaced(v, replace or {}) for k, v in env.items()} | {"BATON_CATALOG_PATH": str(CATALOG)}
        if approle:
            del env["BATON_VAULT_TOKEN"]
            secret_id = new_secret_id(hvac.Client(url=bao.addr, token=bao.root_token))
            env |= {"BATON_VAULT_ROLE_ID": vault.role_id, "BATON_VAULT_SECRET_ID": secret_id}
        step("4/5 Baton's gateway (Slack interactivity, deposit pages, OAuth, the offboarding hook) ...")
        self.add(_Gateway(env, int(gateway_url.rsplit(":", 1)[1])))
        slack.set_request_url(gateway_url + "/slack/actions")
        step("5/5 python -m baton.serve (the deployments prefect.yaml declares) ...")
        served_env = {**os.environ, **env, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
        served = self.add(_Served(served_env, state_dir / "serve.log"))
        with prefect.http(timeout=15) as http:

            def ready() -> bool:
                if served.proc.poll() is not None:
                    raise RuntimeError(f"baton.serve exited; see {state_dir / 'serve.log'}")
                return all(http.get(f"deployments/name/{d}/{d}").status_code == 200 for d in DEPLOYMENTS)

            wait_for("the deployments", ready, timeout=180)
        step(f"up: Prefect in {prefect.startup_seconds:.1f} s, OpenBao in {bao.startup_seconds:.1f} s, "
             f"{len(sandbox.urls)} stand-ins, the gateway and {len(DEPLOYMENTS)} deployments")  # fmt: skip
        return Running(bao, sandbox, prefect, env, gateway_url)
