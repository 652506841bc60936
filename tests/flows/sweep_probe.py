"""A deployment flow for the sweeper test: one human step with a short wait policy, served by
``serve()`` (deployment ``sweep-probe/sweep-probe``) so that the run suspends and no process waits."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.human import human_step
from flows.reminders import WaitPolicy


@flow(name="sweep-probe")
def sweep_probe(tag: str, remind_every: float = 2, escalate_after: float = 5, deadline: float = 9) -> dict[str, Any]:
    result = human_step(
        "sweep",
        title=f"Copy the token ({tag})",
        instruction="Nobody will answer this one.",
        assignee="bob@acme.example",
        policy=WaitPolicy(remind_every=remind_every, escalate_after=escalate_after, deadline=deadline),
        state_if_expired="The old integration user still works.",
    )
    return result.__dict__


if __name__ == "__main__":
    sweep_probe.serve(name="sweep-probe")
