"""Serve the connector handovers for the tests: ``python serve_handovers.py`` runs ``serve()`` with the
deployments ``rotate-salesforce-jira-connector/rotate-salesforce-jira-connector`` and
``change-intercom-app-user/change-intercom-app-user`` (entrypoints in this file, so that each flow process
the runner starts imports it and arms the crash hook).

With BATON_TEST_CRASH_FILE set to a file that exists (armed), a flow process dies (os._exit) right after a task it
*executed* (cached replays are not counted) unless it crashed there before: each crash point is the task's name and
how many times this process has run it (``check_tokens#1``), recorded in ``<file>.log``. A test reschedules each
crashed run, so the run crashes once at every task boundary on its way through.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from prefect import Task, serve
from prefect.context import FlowRunContext
from prefect.deployments.runner import RunnerDeployment

from flows.intercom_app_user import change_intercom_app_user
from flows.salesforce_jira_connector import rotate_salesforce_jira_connector

__all__ = ["change_intercom_app_user", "rotate_salesforce_jira_connector"]
TASK_MODULES = (
    "tasks.connector",
    "tasks.handover_guard",
    "tasks.notify",
    "tasks.vaultrefs",
    "tasks.jira",
    "tasks.intercom",
)
EXECUTED: dict[str, int] = {}
HERE = Path(__file__).resolve()


def _hook(task: Any, task_run: Any, state: Any) -> None:
    if state.name == "Cached":
        return
    EXECUTED[task.name] = EXECUTED.get(task.name, 0) + 1
    crash_file = Path(os.environ["BATON_TEST_CRASH_FILE"])
    if not crash_file.exists():
        return
    ctx = FlowRunContext.get()
    flow = ctx.flow.name if ctx and ctx.flow else ""
    point = f"{flow}:{task.name}#{EXECUTED[task.name]}"
    log = crash_file.with_suffix(".log")
    if point in (log.read_text().split() if log.exists() else []):
        return
    with log.open("a") as out:
        out.write(point + "\n")
    print(f"CRASHING after task {point}", flush=True)
    os._exit(137)


def _arm() -> None:
    for name in TASK_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, Task) and _hook not in value.on_completion_hooks:
                value.on_completion_hooks.append(_hook)


if os.environ.get("BATON_TEST_CRASH_FILE"):
    _arm()


def deployments() -> list[RunnerDeployment]:
    root = HERE.parents[2]
    rel = HERE.relative_to(root)
    return [
        RunnerDeployment.from_entrypoint(f"{rel}:{name}", name=deployment)
        for name, deployment in (
            ("rotate_salesforce_jira_connector", "rotate-salesforce-jira-connector"),
            ("change_intercom_app_user", "change-intercom-app-user"),
        )
    ]


if __name__ == "__main__":
    serve(*deployments())
