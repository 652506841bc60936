"""Crash points for the crash matrix (tests/crash_matrix.py, tests/flows/serve_handovers.py): a flow process
armed by ``arm()`` dies (``os._exit(137)``, as under SIGKILL: no finally, no state reported) at the first point
it reaches that it has not crashed at before. Points are recorded, one a line, in ``<BATON_TEST_CRASH_FILE>.log``;
the process crashes only while the file ``BATON_TEST_CRASH_FILE`` exists (armed).

The points:
- ``<flow>:<task>#<n>``: right after the n-th call of a task in the run, when it executed (a rerun replays the
  run from the top: Cached results count, so *n* is the call's place in the run, but are never a crash point),
  i.e. at every task boundary;
- ``<flow>:wait:<key>#<n>``: at a human step, its Slack message posted and recorded, just before the run waits
  (pauses or suspends): the process dies while the person is being asked;
- ``<flow>:answer:<key>#<n>``: the answer has reached the run, before the flow checked, recorded or acted on it.

So each rerun of a crashed run goes one point further, and a run is crashed once at each point on its way.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

from prefect import Task
from prefect.context import FlowRunContext

EXECUTED: dict[str, int] = {}


def _flow_name() -> str:
    ctx = FlowRunContext.get()
    return ctx.flow.name if ctx and ctx.flow else ""


def crash_at(name: str, *, may_crash: bool = True) -> None:
    """Die here unless this process's n-th pass at *name* is a recorded point already (or *may_crash* is false)."""
    EXECUTED[name] = EXECUTED.get(name, 0) + 1
    if not may_crash:
        return
    crash_file = Path(os.environ["BATON_TEST_CRASH_FILE"])
    if not crash_file.exists():
        return
    point = f"{_flow_name()}:{name}#{EXECUTED[name]}"
    log = crash_file.with_suffix(".log")
    if point in (log.read_text().split() if log.exists() else []):
        return
    with log.open("a") as out:
        out.write(point + "\n")
    print(f"CRASHING at {point}", flush=True)
    os._exit(137)


def _task_hook(task: Any, task_run: Any, state: Any) -> None:
    crash_at(task.name, may_crash=state.name != "Cached")


def _arm_waits() -> None:
    human = sys.modules.get("flows.human")
    if human is None or getattr(human._wait, "crash_armed", False):
        return
    original = human._wait

    @functools.wraps(original)
    def wait(svc: Any, step: Any, key: str, deployment: bool) -> Any:
        crash_at(f"wait:{key}")
        answer = original(svc, step, key, deployment)
        crash_at(f"answer:{key}")
        return answer

    wait.crash_armed = True  # type: ignore[attr-defined]
    human._wait = wait


def arm(prefixes: tuple[str, ...] = ("tasks.", "flows."), *, waits: bool = True) -> int:
    """Hook every Prefect task of the loaded modules under *prefixes*, and (*waits*) the human steps' wait;
    returns the number of tasks hooked. Import the flow modules first."""
    hooked = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith(prefixes) or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, Task) and _task_hook not in value.on_completion_hooks:
                value.on_completion_hooks.append(_task_hook)
                hooked += 1
    if waits:
        _arm_waits()
    return hooked


def gate(task_name: str, path: Path, *, timeout: float = 120) -> int:
    """Hold every run of the loaded task *task_name* as it starts running: create ``<path>.reached`` and wait
    until ``<path>.go`` exists (a test injects a fault meanwhile, e.g. cuts Vault). Returns the tasks hooked."""
    import time

    def hold(task: Any, task_run: Any, state: Any) -> None:
        path.with_suffix(".reached").write_text(task_run.name)
        go = path.with_suffix(".go")
        deadline = time.monotonic() + timeout
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    hooked = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith(("tasks.", "flows.")) or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, Task) and value.name == task_name and hold not in value.on_running_hooks:
                value.on_running_hooks.append(hold)
                hooked += 1
    return hooked
