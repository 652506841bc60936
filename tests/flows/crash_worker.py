"""One flow run's process, as a worker starts it: crash_worker.py MODULE [MODULE...].

Imports Prefect's engine and the flow modules (the slow part of a start) and, with BATON_TEST_CRASH_FILE set,
arms the crash points (tests/flows/crash_points.py). Then it waits until the file BATON_TEST_GO_FILE exists,
reads the flow run id and the entrypoint (``module:flow``) from it and executes that run as
``python -m prefect.engine`` does (the run's parameters; a human step suspends and the process exits).
It prints ``RESULT=<json>`` when the run ends. With BATON_TEST_GATE=<task name>=<path>, that task is held as it
starts until the test lets it go (tests/flows/crash_points.py ``gate``).
The harness (tests/crash_matrix.py) keeps one such process warm.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from uuid import UUID

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.flows.crash_points
    from prefect.engine import handle_engine_signals
    from prefect.flow_engine import load_flow, load_flow_run, run_flow

    for name in sys.argv[1:]:
        importlib.import_module(name)
    if os.environ.get("BATON_TEST_CRASH_FILE"):
        from tests.flows.crash_points import arm

        arm()
    if os.environ.get("BATON_TEST_GATE"):  # "<task name>=<path>": hold that task as it starts (crash_points.gate)
        from tests.flows.crash_points import gate

        task_name, gate_path = os.environ["BATON_TEST_GATE"].split("=", 1)
        assert gate(task_name, Path(gate_path)), f"no task {task_name} loaded"
    go = Path(os.environ["BATON_TEST_GO_FILE"])
    while not go.exists():
        time.sleep(0.02)
    run, entrypoint = go.read_text().split()
    run_id = UUID(run)
    os.environ["PREFECT__FLOW_ENTRYPOINT"] = entrypoint  # what the engine loads (module:flow)
    with handle_engine_signals(run_id):
        flow_run = load_flow_run(run_id)
        flow = load_flow(flow_run)
        state = run_flow(flow, flow_run=flow_run, return_type="state")
        result = state.result(raise_on_failure=False)  # type: ignore[union-attr]
        if isinstance(result, BaseException):
            print("RESULT=" + json.dumps({"error": str(result), "type": type(result).__name__}), flush=True)
        else:
            print("RESULT=" + json.dumps(result, default=str), flush=True)
