"""Reminders, escalation and the safe failure for suspended runs.

A run of a deployment suspends at a human step and no process is left to remind anyone. This flow,
on a schedule (prefect.yaml: every 5 minutes), looks at every suspended run, reads the step's record
(``baton-step-<key>``: when it was posted, its wait policy, its Slack message) and does what is due:
a reminder in the thread mentioning the assignee, an escalation to the escalation group, and at the
deadline the safe-failure message and the run set to Failed. Each action done is recorded on the run
(``baton-sweep-<key>-<action>-<n>``) so that a second sweep does nothing twice.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.states import Failed

from clients.slack import SlackMessage
from flows.human import _act, _expired_text, _say, _Step
from flows.reminders import Action, WaitPolicy
from tasks.services import services

_RETRY = re.compile(r"-r\d+$")


def _suspended(client: SyncPrefectClient) -> list[Any]:
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(state=state), limit=200)
    return [r for r in runs if r.state and r.state.name == "Suspended" and r.state.state_details.pause_key]


def _done(client: SyncPrefectClient, run_id: UUID, base: str) -> list[Action]:
    prefix = f"baton-sweep-{base}-"
    keys = [item.key for item in client.filter_flow_run_input(run_id, prefix, limit=100, exclude_keys=set())]
    actions: list[Action] = []
    for key in sorted(keys):
        action = key.removeprefix(prefix).rsplit("-", 1)[0]
        if action in ("remind", "escalate", "expire"):
            actions.append(action)  # type: ignore[arg-type]
    return actions


def _step(meta: dict[str, Any], base: str) -> _Step:
    remind, escalate, deadline = (float(v) for v in meta["policy"])
    step = _Step(
        key=base, title=str(meta.get("title", base)), instruction="", kind=meta.get("kind", "task"),
        requester="", assignee=str(meta.get("assignee", "")),
        state_if_expired=str(meta.get("state_if_expired", "Nothing was changed by this step.")),
        policy=WaitPolicy(remind_every=remind, escalate_after=escalate, deadline=deadline),
    )  # fmt: skip
    step.posted_at = float(meta["posted_at"])
    step.message = SlackMessage(channel=str(meta["channel"]), ts=str(meta["ts"]))
    return step


@flow(name="remind-waiting-steps")
def remind_waiting_steps() -> dict[str, int]:
    """One sweep over suspended runs; returns how many reminders, escalations and expiries it did."""
    svc = services()
    logger = get_run_logger()
    counts = {"remind": 0, "escalate": 0, "expire": 0}
    with get_client(sync_client=True) as client:
        for run in _suspended(client):
            base = _RETRY.sub("", run.state.state_details.pause_key)
            try:
                meta = json.loads(client.read_flow_run_input(run.id, f"baton-step-{base}"))
            except Exception:  # noqa: BLE001 - no record: not a Baton human step
                logger.debug("run %s waits at %s, which is not a Baton human step", run.id, base)
                continue
            step = _step(meta, base)
            done = _done(client, run.id, base)
            for action in step.policy.due(time.time() - step.posted_at, tuple(done)):
                number = done.count(action) + 1
                client.create_flow_run_input(run.id, f"baton-sweep-{base}-{action}-{number}", str(time.time()))
                done.append(action)
                counts[action] += 1
                if action == "expire":
                    _say(svc, step, _expired_text(step))
                    message = (
                        f"HumanStepTimedOut: no answer to '{step.title}' before its deadline; {step.state_if_expired}"
                    )
                    client.set_flow_run_state(run.id, Failed(message=message), force=True)
                    logger.warning("run %s: step %s expired; the run is failed safely", run.id, base)
                    break
                _act(svc, step, action)
                logger.info("run %s: step %s: %s", run.id, base, action)
    return counts
