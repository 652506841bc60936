"""Each handover is its own run of its deployment, started (or scheduled) by offboard_person through
Prefect's API. At most one live run per integration: a run already under way is adopted, never doubled;
every run carries the tags ``baton-leaver:<person>`` and ``baton-integration:<id>``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.states import Cancelled, Scheduled

LIVE = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]
DONE = {StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED}


def leaver_tag(person: str) -> str:
    return f"baton-leaver:{person.lower()}"


def integration_tag(integration_id: str) -> str:
    return f"baton-integration:{integration_id}"


def _client() -> SyncPrefectClient:
    return get_client(sync_client=True)


def _runs(client: SyncPrefectClient, tags: list[str], states: list[StateType]) -> list[FlowRun]:
    wanted = FlowRunFilterState(type=FlowRunFilterStateType(any_=states))
    flow_runs = FlowRunFilter(tags=FlowRunFilterTags(all_=tags), state=wanted)
    return list(client.read_flow_runs(flow_run_filter=flow_runs, limit=50))


def live_run(integration_id: str) -> str | None:
    """The run already handing *integration_id* over (scheduled, pending, running or waiting), if any."""
    with _client() as client:
        runs = _runs(client, [integration_tag(integration_id)], LIVE)
    return str(runs[0].id) if runs else None


@task(persist_result=True, retries=3, retry_delay_seconds=[1, 4, 15])
def start_handover(deployment: str, request: dict[str, Any], person: str, integration_id: str, key: str) -> str:
    """Start the handover now (``run_deployment(..., timeout=0)``) and return its run id; adopts a live run."""
    existing = live_run(integration_id)
    if existing:
        get_run_logger().info("%s is already being handed over by run %s: adopted", integration_id, existing)
        return existing
    tags = ["offboarding", leaver_tag(person), integration_tag(integration_id)]
    run = run_deployment(
        deployment, parameters={"request": request}, timeout=0, tags=tags, idempotency_key=key, as_subflow=False
    )
    assert isinstance(run, FlowRun)  # run_deployment is sync inside a sync task
    return str(run.id)


@task(persist_result=True, retries=3, retry_delay_seconds=[1, 4, 15])
def schedule_handover(
    deployment: str, request: dict[str, Any], person: str, integration_id: str, start_at: str, key: str
) -> str:
    """A scheduled run of the handover's deployment (state Scheduled at *start_at*); adopts a live run."""
    existing = live_run(integration_id)
    if existing:
        return existing
    tags = ["offboarding", leaver_tag(person), integration_tag(integration_id)]
    with _client() as client:
        deployment_id = client.read_deployment_by_name(deployment).id
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"request": request}, tags=tags, idempotency_key=key,
            state=Scheduled(scheduled_time=dt.datetime.fromisoformat(start_at)),
        )  # fmt: skip
    return str(run.id)


def scheduled_for(person: str, *, not_by: str = "") -> dict[str, str]:
    """The person's handovers that are scheduled and have not started: integration id -> run id (without
    those the offboarding run *not_by* scheduled itself: a rerun of that run is not a second event)."""
    with _client() as client:
        runs = _runs(client, [leaver_tag(person)], [StateType.SCHEDULED])
    found: dict[str, str] = {}
    for run in runs:
        if not_by and not_by in (run.idempotency_key or ""):
            continue
        ident = next((t.split(":", 1)[1] for t in run.tags if t.startswith("baton-integration:")), None)
        if ident:
            found[ident] = str(run.id)
    return found


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 4, 15])
def move_handover(run_id: str, start_at: str) -> None:
    """Move a scheduled handover to *start_at* (a no-op when it is already there)."""
    with _client() as client:
        run = client.read_flow_run(UUID(run_id))
        when = dt.datetime.fromisoformat(start_at)
        state = run.state
        if state is not None and state.state_details.scheduled_time == when:
            return
        client.set_flow_run_state(UUID(run_id), Scheduled(scheduled_time=when), force=True)


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 4, 15])
def cancel_handover(run_id: str, reason: str) -> None:
    """Cancel a handover that has not started (a no-op when it is finished already)."""
    with _client() as client:
        run = client.read_flow_run(UUID(run_id))
        if run.state is not None and run.state.type in DONE:
            return
        client.set_flow_run_state(UUID(run_id), Cancelled(message=reason), force=True)


def _result_status(run: FlowRun) -> str | None:
    """The handover flow's own status ('done', 'stopped: ...') when its result is readable."""
    try:
        result = run.state.result(raise_on_failure=False) if run.state else None
    except Exception:  # noqa: BLE001 - results may not be persisted; the state then decides
        return None
    return str(result.get("status")) if isinstance(result, dict) and result.get("status") else None


def states(run_ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """integration id -> {run_id, type, name, message, scheduled, status} for each handover run."""
    out: dict[str, dict[str, Any]] = {}
    with _client() as client:
        for ident, run_id in run_ids.items():
            run = client.read_flow_run(UUID(run_id))
            state = run.state
            kind = state.type if state else StateType.PENDING
            scheduled = state.state_details.scheduled_time if state else None
            out[ident] = {
                "run_id": run_id,
                "type": kind.value,
                "name": state.name if state else "Pending",
                "message": (state.message or "")[:300] if state else "",
                "scheduled": scheduled.isoformat() if scheduled else None,
                "status": _result_status(run) if kind == StateType.COMPLETED else None,
                "done": kind in DONE,
            }
    return out
