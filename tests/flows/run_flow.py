"""Run one of Baton's flows from the command line for the tests: run_flow.py MODULE:FLOW '<json params>'.

A flow that declares its parameters as one request model (``request: Model, plan: bool``) gets the flat
JSON as its request (``plan`` apart), so a test writes the request's fields as an operator would.

With BATON_TEST_CRASH_AFTER=N the process dies (os._exit) right after the N-th task of the tasks
package completes: a crash at a task boundary, as when a worker is killed.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from typing import Any

from prefect import Task

COMPLETED = {"n": 0}


def _crash_hook(limit: int) -> Any:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        COMPLETED["n"] += 1
        if COMPLETED["n"] >= limit:
            print(f"CRASHING after task {task.name} ({COMPLETED['n']})", flush=True)
            os._exit(137)

    return hook


def _arm(limit: int) -> None:
    for name in ("tasks.salesforce", "tasks.salesforce_metadata", "tasks.salesforce_jwt", "tasks.jotform"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, Task):
                value.on_completion_hooks.append(_crash_hook(limit))


if __name__ == "__main__":
    target, params = sys.argv[1], json.loads(sys.argv[2])
    module_name, flow_name = target.split(":")
    if os.environ.get("BATON_TEST_CRASH_AFTER"):
        _arm(int(os.environ["BATON_TEST_CRASH_AFTER"]))
    flow = getattr(importlib.import_module(module_name), flow_name)
    if "request" in inspect.signature(flow.fn).parameters and "request" not in params:
        params = {"request": {k: v for k, v in params.items() if k != "plan"}, "plan": params.get("plan", False)}
    state = flow(**params, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        print("RESULT=" + json.dumps({"error": str(result), "type": type(result).__name__}))
    else:
        print("RESULT=" + json.dumps(result, default=str))
