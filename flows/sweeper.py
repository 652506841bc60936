"""Reminders, escalation and the safe failure for suspended runs.

A run of a deployment suspends at a human step and no process is left to remind anyone. This flow,
on a schedule (prefect.yaml: every 5 minutes), looks at every suspended run, reads the step's StepRecord
(when it was posted, its wait policy, its Slack message) and does what is due:
a reminder in the thread mentioning the assignee, an escalation to the escalation group, and at the
deadline the safe-failure message and the run set to Failed. Each action done is recorded on the run
(``clients.humanstep.keys.sweep_key``) so that a second sweep does nothing twice.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.states import Failed

from clients.humanstep.keys import step_of, sweep_action, sweep_key, sweep_prefix
from flows.records import read_step_of
from flows.reminders import Action, act, expired_text, say_in_step
from tasks.services import services


def _suspended(client: SyncPrefectClient) -> list[Any]:
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(state=state), limit=200)
    return [r for r in runs if r.state and r.state.name == "Suspended" and r.state.state_details.pause_key]


def _done(client: SyncPrefectClient, run_id: UUID, step: str) -> list[Action]:
    items = client.filter_flow_run_input(run_id, sweep_prefix(step), limit=100, exclude_keys=set())
    actions: list[Action] = []
    for key in sorted(item.key for item in items):
        action = sweep_action(step, key)
        if action in ("remind", "escalate", "expire"):
            actions.append(action)  # type: ignore[arg-type]
    return actions


@flow(name="remind-waiting-steps")
def remind_waiting_steps() -> dict[str, int]:
    """One sweep over suspended runs; returns how many reminders, escalations and expiries it did."""
    svc = services()
    logger = get_run_logger()
    counts = {"remind": 0, "escalate": 0, "expire": 0}
    with get_client(sync_client=True) as client:
        for run in _suspended(client):
            step = step_of(run.state.state_details.pause_key)
            record = read_step_of(client, run.id, step)
            if record is None:
                logger.debug("run %s waits at %s, which is not a Baton human step", run.id, step)
                continue
            done = _done(client, run.id, step)
            for action in record.policy.policy().due(time.time() - record.posted_at, tuple(done)):
                number = done.count(action) + 1
                client.create_flow_run_input(run.id, sweep_key(step, action, number), str(time.time()))
                done.append(action)
                counts[action] += 1
                if action == "expire":
                    say_in_step(svc, record, expired_text(record))
                    message = (
                        f"HumanStepTimedOut: no answer to '{record.title}' before its deadline; "
                        f"{record.state_if_expired}"
                    )
                    client.set_flow_run_state(run.id, Failed(message=message), force=True)
                    logger.warning("run %s: step %s expired; the run is failed safely", run.id, step)
                    break
                act(svc, record, action, run_id=str(run.id), step=step)
                logger.info("run %s: step %s: %s", run.id, step, action)
    return counts
