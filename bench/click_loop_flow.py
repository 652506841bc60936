"""The flow the resume benchmark drives: N human steps in a row, each followed by a task that writes
the moment it starts to a file. Run as a script: click_loop_flow.py STEPS MARKS_FILE."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from prefect import flow, task

from flows.human import human_step


@task
def next_task(i: int, marks: str) -> None:
    with Path(marks).open("a") as fh:
        fh.write(f"{i} {time.time():.6f}\n")


@flow(name="click-loop")
def click_loop(steps: int, marks: str) -> None:
    for i in range(steps):
        human_step(f"step-{i}", title=f"Bench step {i}", instruction="Press **Done**.", assignee="bob@acme.example")
        next_task(i, marks)


if __name__ == "__main__":
    click_loop(int(sys.argv[1]), sys.argv[2])
