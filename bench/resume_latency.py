"""Latency from a signed Slack click to the flow running its next task, over many resumes.

Starts the real parts (OpenBao dev server, Prefect server on SQLite, the sandbox, the gateway), runs a
flow of N human steps (pause path, BATON_PREFECT_PAUSE_POLL_SECONDS=1), clicks Done in the Slack
stand-in for each, and prints p50/p95/max of click → next task start. Usage:

    .venv/bin/python -m bench.resume_latency [--steps 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import hvac
import uvicorn

from baton.devstack import OpenBaoDevServer, PrefectServer, free_port
from baton.stackenv import settings_from, stack_env
from clients.factory import custody_from, slack_from
from deployments.vault.setup import setup_vault
from gateway.app import build, create_app
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import FlowProcess

HERE = Path(__file__).parent


def _message_for(slack: object, key: str, timeout: float = 30) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(slack.messages("C0HANDOVER")):  # type: ignore[attr-defined]
            if f'\\"key\\": \\"{key}\\"' in json.dumps(message.get("blocks") or []):
                return message  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise TimeoutError(f"no Slack message for {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="resumes to measure (default 60)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    bao = OpenBaoDevServer(work / "bao").start()
    setup_vault(hvac.Client(url=bao.addr, token=bao.root_token))
    prefect = PrefectServer(work / "prefect").start()
    sandbox = Sandbox().start()
    slack = state_of(sandbox.world)
    slack.set_post_rate(0)
    port = free_port()
    env = stack_env(
        vault_addr=bao.addr, vault_token=bao.root_token, prefect=prefect, urls=sandbox.urls, ca_file=sandbox.ca_file,
        slack_bot_token=slack.config.bot.token, slack_signing_secret=slack.config.signing_secret,
        gateway_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    settings = settings_from(env)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(build(settings, custody_from(settings), slack_from(settings))),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    slack.set_request_url(f"http://127.0.0.1:{port}/slack/actions")
    marks = work / "marks.txt"
    flow = FlowProcess(HERE / "click_loop_flow.py", env, str(args.steps), str(marks))
    latencies: list[float] = []
    acks: list[float] = []
    try:
        for i in range(args.steps):
            message = _message_for(slack, f"step-{i}")
            time.sleep(0.3)  # let the run store its input schema, as a person would take a moment
            clicked = time.time()
            result = slack.click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
            if result.status != 200:
                raise RuntimeError(f"click {i} answered {result.status}: {result.body}")
            acks.append(result.elapsed)
            while True:
                lines = marks.read_text().splitlines() if marks.exists() else []
                if len(lines) > i:
                    latencies.append(float(lines[i].split()[1]) - clicked)
                    break
                time.sleep(0.01)
            if (i + 1) % 10 == 0:
                print(f"resumes measured: {i + 1}/{args.steps}", flush=True)
    finally:
        flow.kill()
        server.should_exit = True
        sandbox.stop()
        prefect.stop()
        bao.stop()
    q = statistics.quantiles(latencies, n=20)
    print(f"click -> next task start over {len(latencies)} resumes (pause path, poll 1 s):")
    print(f"  p50 {statistics.median(latencies):.3f} s   p95 {q[18]:.3f} s   max {max(latencies):.3f} s")
    print(f"gateway ack to Slack: p50 {statistics.median(acks) * 1000:.0f} ms   max {max(acks) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
