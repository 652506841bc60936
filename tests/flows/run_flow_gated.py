"""run_flow.py, started ahead of time: run_flow_gated.py MODULE:FLOW '<json params>'.

Imports Prefect and the flow module (the slow part of a start), then waits until the file named by
BATON_TEST_GO_FILE exists and runs run_flow.py as its ``__main__``, with BATON_TEST_CRASH_AFTER set to
that file's content (empty: no crash). A test can so overlap the next run's start-up with the current
run, and still decide the next crash boundary only when the current run has ended.
"""

from __future__ import annotations

import importlib
import os
import runpy
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    go = Path(os.environ["BATON_TEST_GO_FILE"])
    importlib.import_module(sys.argv[1].split(":")[0])
    importlib.import_module("prefect.flow_engine")
    while not go.exists():
        time.sleep(0.02)
    crash = go.read_text().strip()
    if crash:
        os.environ["BATON_TEST_CRASH_AFTER"] = crash
    runpy.run_path(str(Path(__file__).with_name("run_flow.py")), run_name="__main__")
