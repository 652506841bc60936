"""Against a real Prefect server: a secret handled by custody is masked in console and API logs."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from baton.devstack import PrefectServer
from tests.leakscan import Scan

PROBE = Path(__file__).with_name("redaction_probe.py")


async def _logs(flow_run_id: str, want: int) -> list[str]:
    """The run's log messages; the API handler ships them in batches, so wait for *want* of them."""
    messages: list[str] = []
    async with get_client() as client:
        for _ in range(50):
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            messages = [log.message for log in logs]
            if len(messages) >= want:
                break
            await asyncio.sleep(0.2)
    return messages


def test_console_api_logs_and_database_hold_no_registered_secret(prefect_server: PrefectServer) -> None:
    canary = "canary-" + secrets.token_hex(12)
    env = {**os.environ, **prefect_server.client_env(), "REDACTION_CANARY": canary, "PREFECT_LOGGING_LEVEL": "INFO"}
    proc = subprocess.run(
        [sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = proc.stdout + proc.stderr
    assert "handled *** while rotating" in console and "ValueError: remote said ***" in console
    assert "inline ***" in console
    assert canary not in console
    run_id = proc.stdout.split("FLOW_RUN_ID=")[1].strip()
    messages = asyncio.run(_logs(run_id, want=2))
    assert any("handled *** while rotating" in m for m in messages), messages
    assert any("ValueError: remote said ***" in m for m in messages), messages
    assert not any(canary in m for m in messages)
    with sqlite3.connect(prefect_server.database) as db:
        rows = db.execute("SELECT message FROM log").fetchall()
    assert rows and not any(canary in r[0] for r in rows)
    scan = Scan()  # and nowhere in its files (the database with its -wal and -shm, server log, result storage)
    scan.add_path(prefect_server.home)
    scan.add_text("console", console)
    hits = scan.hits({canary: "registered secret"})
    assert not hits, "\n".join(map(str, hits))
