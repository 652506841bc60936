"""``./run demo``: Baton's main job on the embedded stack, all on loopback.

It starts a local Prefect server (SQLite), an OpenBao dev server set up for Baton, the sandbox's
stand-ins (Salesforce, Jira, Intercom, Jotform, Slack), Baton's gateway, and a ``serve()`` process
for Baton's deployments; then it starts a run of create-salesforce-integration-user and shows you
where to act: the Slack stand-in's channel page (buttons work, as bob), the run in the Prefect UI.
With ``--autopilot`` it plays the person itself and prints the report. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import hvac
import typer
import uvicorn

from baton.autopilot import integration_user, wait_for
from baton.devstack import OpenBaoDevServer, PrefectServer, free_port
from baton.stackenv import settings_from, stack_env
from clients.factory import custody_from, slack_from
from clients.prefect_api import prefect_http
from core.settings import Settings
from deployments.vault.setup import setup_vault
from gateway.app import build, create_app
from sandbox.server import Sandbox
from sandbox.slack import state_of

app = typer.Typer(add_completion=False, help=__doc__)
DEPLOYMENT = "create-salesforce-integration-user/create-salesforce-integration-user"


def _params(username: str) -> dict[str, Any]:
    return {
        "first_name": "Integration", "last_name": "User", "email": "it-integrations@acme.example",
        "username": username, "alias": "integr", "profile": "Standard User", "clone_profile_as": "Integration API",
        "role_name": "Integrations", "licence": "Salesforce",
        # set by Metadata API and enforced at login: the demo's browser logs in from 127.0.0.1, every day
        "login_ip_ranges": ["127.0.0.1-127.0.0.1", "203.0.113.10-203.0.113.20"],
        "login_hours": [f"{day} 00:00-24:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                         "Saturday", "Sunday")],
        "credential_mode": "oauth", "requested_by": "bob@acme.example",
    }  # fmt: skip


def _port(wanted: int, what: str) -> int:
    """*wanted* if it is free on loopback, else a free one (and say so); 0 always picks a free one."""
    if wanted:
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", wanted))
            return wanted
        except OSError:
            typer.echo(f"  port {wanted} is taken; {what} takes a free port instead")
    return free_port()


class Stack:
    """Everything the demo starts, stopped in reverse order."""

    def __init__(self) -> None:
        self.parts: list[Any] = []

    def add(self, part: Any) -> Any:
        self.parts.append(part)
        return part

    def stop(self) -> None:
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                typer.echo(f"  (stopping {type(part).__name__}: {exc})")


class _Gateway:
    def __init__(self, settings: Settings, port: int) -> None:
        gateway = create_app(build(settings, custody_from(settings), slack_from(settings)))
        config = uvicorn.Config(gateway, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for("the gateway", lambda: self.server.started, timeout=20)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _Served:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "baton.serve"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@app.command()
def main(
    autopilot: bool = typer.Option(False, help="Play the person too, print the report, then stop."),
    state_dir: Path = typer.Option(Path("var/demo"), help="Where the Prefect database and the logs live."),
    fresh: bool = typer.Option(False, help="Start from an empty Prefect database."),
    prefect_port: int = typer.Option(4200, help="Port of the Prefect server (UI and API); 0 picks a free one."),
    gateway_port: int = typer.Option(8700, help="Port of Baton's gateway; 0 picks a free one."),
    exit_after: float = typer.Option(0, help="Stop by itself after this many seconds (0: until Ctrl-C)."),
) -> None:
    """Start the stack, start one rotation run, and show where to act (or act, with --autopilot)."""
    if fresh and state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = Stack()
    try:
        typer.echo("1/6 OpenBao dev server ...")
        bao = stack.add(OpenBaoDevServer(state_dir / "openbao").start())
        setup_vault(hvac.Client(url=bao.addr, token=bao.root_token))
        typer.echo("2/6 the sandbox (Salesforce, Jira, Intercom, Jotform, Slack) ...")
        sandbox = stack.add(Sandbox().start())
        typer.echo("3/6 Prefect server (about 20 s on a fresh database) ...")
        prefect = stack.add(PrefectServer(state_dir / "prefect", port=_port(prefect_port, "Prefect")).start())
        slack = state_of(sandbox.world)
        gateway_url = f"http://127.0.0.1:{_port(gateway_port, 'the gateway')}"
        env = stack_env(
            vault_addr=bao.addr, vault_token=bao.root_token, prefect=prefect, urls=sandbox.urls,
            ca_file=sandbox.ca_file, slack_bot_token=slack.config.bot.token,
            slack_signing_secret=slack.config.signing_secret, gateway_url=gateway_url,
        )  # fmt: skip
        settings = settings_from(env)
        typer.echo("4/6 Baton's gateway ...")
        stack.add(_Gateway(settings, int(gateway_url.rsplit(":", 1)[1])))
        slack.set_request_url(gateway_url + "/slack/actions")
        typer.echo("5/6 serving Baton's deployments (serve()) ...")
        served_env = {**os.environ, **env, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
        stack.add(_Served(served_env, state_dir / "serve.log"))
        http = prefect_http(prefect.api_url, timeout=15)
        deployment = wait_for("the deployments", lambda: (r := http.get(f"deployments/name/{DEPLOYMENT}"))
                              .status_code == 200 and r.json(), timeout=90)  # fmt: skip
        username = f"integration.{uuid.uuid4().hex[:4]}@acme.example"
        typer.echo(f"6/6 starting create-salesforce-integration-user for {username} ...")
        reply = http.post(
            f"deployments/{deployment['id']}/create_flow_run", json={"parameters": {"request": _params(username)}}
        )
        reply.raise_for_status()
        run_id = str(reply.json()["id"])
        typer.echo("")
        typer.echo(f"  Prefect UI (the run)  {prefect.ui_url}/runs/flow-run/{run_id}")
        typer.echo(f"  Slack stand-in        {sandbox.urls['slack']}/sandbox/slack/app?channel=C0HANDOVER")
        typer.echo(f"  Baton's gateway       {gateway_url}")
        typer.echo(f"  OpenBao               {bao.addr}   (dev root token: this process only)")
        for name, url in sandbox.urls.items():
            typer.echo(f"  sandbox {name:<14}{url}")
        typer.echo("")
        typer.echo(
            f"status: ok - Prefect up in {prefect.startup_seconds:.1f} s, OpenBao in {bao.startup_seconds:.1f} s, "
            f"{len(sandbox.urls)} stand-ins, gateway and deployments up; run {run_id} started."
        )
        if autopilot:
            integration_user(sandbox, prefect.api_url, run_id, username, typer.echo)
            final = http.get(f"flow_runs/{run_id}").json()["state"]
            typer.echo(f"run {run_id}: {final['type']} {final.get('message') or ''}")
            artifacts = http.post("artifacts/filter", json={"artifacts": {"key": {"any_": ["integration-user-report"]}},
                                                            "sort": "CREATED_DESC", "limit": 1}).json()  # fmt: skip
            if artifacts:
                typer.echo(artifacts[0]["data"])
            if final["type"] != "COMPLETED":
                raise typer.Exit(1)
            return
        typer.echo("Act as the person: open the Slack stand-in page (acting as bob), follow the step messages")
        typer.echo("(Done; then the password link, Sign in as the new user, Allow). Ctrl-C stops everything.")
        deadline = time.monotonic() + exit_after if exit_after else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        typer.echo("stopping ...")
        stack.stop()
        typer.echo("stopped.")


if __name__ == "__main__":
    app()
