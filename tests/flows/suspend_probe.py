"""A deployment flow for the suspend test: a persisted task that calls the sandbox, a human step (which
suspends, since the run comes from a deployment), another task. ``python suspend_probe.py`` serves it
with ``serve()`` (deployment ``suspend-probe/suspend-probe``); runs are started through Prefect's API.

Each time the flow body starts, it appends its process id to *pid_file*: the test sees that the run
was suspended (the first process exited) and resumed by a new process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from prefect import flow, task

from flows.human import human_step


@task(persist_result=True)
def call_sandbox(url: str) -> int:
    """One call the sandbox counts under its own path; persisted, so a rerun gets it back Cached."""
    return httpx.get(url).status_code


@flow(name="suspend-probe")
def suspend_probe(admin_url: str, tag: str, pid_file: str = "") -> dict[str, Any]:
    if pid_file:
        with Path(pid_file).open("a") as out:
            out.write(f"{os.getpid()}\n")
    call_sandbox(f"{admin_url}/inbox/{tag}-before.json")
    result = human_step(
        "logout",
        title=f"Log out of Salesforce ({tag})",
        instruction="**Log out** of Salesforce in every browser tab, then press Done.",
        assignee="bob@acme.example",
    )
    call_sandbox(f"{admin_url}/inbox/{tag}-after.json")
    return result.__dict__


if __name__ == "__main__":
    suspend_probe.serve(name="suspend-probe")
