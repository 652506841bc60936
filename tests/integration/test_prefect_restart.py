"""Issue 13, item 3: the Prefect server restarts while runs are suspended at a human step.

Two deployment runs (tests/flows/suspend_probe.py, served by ``serve()`` in its own process) suspend at their
step; the session's Prefect server is stopped. During the outage a Slack click on one of them (signed by the
Slack stand-in, through the in-process gateway) gets an ephemeral "try again", and its message keeps its buttons
(not marked answered): the answer is not lost, the person clicks again. Prefect is started again on the same
port and database; the serve process rode out the outage; the repeated click resumes that run, a click resumes
the other; both complete, each having asked its step once.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from baton.devstack import PrefectServer
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.figures import record
from tests.harness import RunningGateway, step_message
from tests.integration.test_suspend import Served, served

pytestmark = pytest.mark.slow
__all__ = ["served"]  # the fixture: suspend_probe served in its own process


def _click(sandbox: Sandbox, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    click = state_of(sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done", timeout=30)
    return click.status, (json.loads(click.body) if click.body.strip() else {})


def _answered(sandbox: Sandbox, ts: str) -> bool:
    """The step's message shows who answered (the buttons replaced)."""
    message = next(m for m in state_of(sandbox.world).messages("C0HANDOVER") if m["ts"] == ts)
    blocks = json.dumps(message.get("blocks") or [])
    return "baton_done" not in blocks and "by <@" in blocks


def test_suspended_runs_survive_a_prefect_restart_and_a_click_during_it_is_asked_again(
    served: Served, gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer, tmp_path: Path
) -> None:
    tags = [f"restart-{i}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    runs = [served.start(admin_url=sandbox.urls["admin"], tag=t, pid_file=str(tmp_path / t)) for t in tags]
    try:
        for run_id in runs:
            served.wait_suspended(run_id, "logout")
        messages = [step_message(sandbox, run_id) for run_id in runs]
        port, database = prefect_server.port, prefect_server.database
        assert database.exists()

        down = time.monotonic()
        prefect_server.stop()
        status, reply = _click(sandbox, messages[0])  # the person clicks Done while Prefect is down
        assert status == 200, reply
        assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False, reply
        assert reply["text"] == "Baton could not reach Prefect to resume the run; try again in a minute.", reply
        assert not _answered(sandbox, messages[0]["ts"])  # the buttons stay: the person can click again
        assert served.server.proc.poll() is None, served.server.output()[-3000:]

        prefect_server.restart(timeout=180)  # a loaded machine (2 cores, many tests) starts it slowly
        outage = time.monotonic() - down
        assert (prefect_server.port, prefect_server.database) == (port, database)
        for run_id in runs:  # still suspended at their step, from the same database
            state = served.state(run_id)
            assert (state["type"], state["name"], state["state_details"]["pause_key"]) == (
                "PAUSED", "Suspended", "logout"), state  # fmt: skip

        status, reply = _click(sandbox, messages[0])  # clicked again once Prefect is back: resumes
        assert (status, reply) == (200, {}), reply
        assert _answered(sandbox, messages[0]["ts"])
        status, reply = _click(sandbox, messages[1])
        assert (status, reply) == (200, {}), reply
        finals = [served.wait_final(run_id) for run_id in runs]
    finally:
        for run_id in runs:
            served.cancel_if_paused(run_id)
    assert served.server.proc.poll() is None, "the serve() process did not ride out the outage"
    assert [f["type"] for f in finals] == ["COMPLETED", "COMPLETED"], (finals, served.server.output()[-3000:])
    for run_id, tag in zip(runs, tags, strict=True):
        mine = [m for m in state_of(sandbox.world).messages("C0HANDOVER") if tag in json.dumps(m.get("blocks") or [])]
        assert len(mine) == 1, mine  # the step was asked once, across the outage
        assert "Done* by <@U0BOB0001>" in str(mine[0]["blocks"])
        text = served.logs(run_id, until="answered 'done' by U0BOB0001 via slack (verified")
        assert text.count("human step logout answered") == 1
        assert len((tmp_path / tag).read_text().split()) == 2  # suspended once, resumed once: two processes
    record("prefect-restart", outages=1, suspended_runs_survived=len(runs), clicks_told_try_again=1)
    print(f"\nPREFECT-RESTART: 1 outage ({outage:.1f} s, server stopped and started on port {port}, same database); "
          f"{len(runs)} suspended runs survived and completed; 1 click during the outage answered "
          f"'try again' (not marked answered), repeated after: resumed")  # fmt: skip
