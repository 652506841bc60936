"""One handover per integration at a time: a task asks Prefect for runs of the same flow that hand over the
same integration and are not finished (scheduled, running, paused or suspended for days)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort

from tasks.connector import PreflightRefused
from tasks.retry import RETRY
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}
NOT_FINAL = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]


def _integration(parameters: dict[str, Any]) -> str:
    request = parameters.get("request")
    return str(request.get("integration_id", "")) if isinstance(request, dict) else ""


@task(**PERSIST)
def no_other_handover(flow_name: str, integration_id: str, own_run_id: str) -> None:
    """Refuse when another run of *flow_name* for *integration_id* is not finished; the message links the first."""
    state = FlowRunFilterState(type=FlowRunFilterStateType(any_=NOT_FINAL))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            flow_run_filter=FlowRunFilter(state=state),
            sort=FlowRunSort.START_TIME_ASC,
            limit=200,
        )
    others = [r for r in runs if r.id != UUID(own_run_id) and _integration(r.parameters) == integration_id]
    if others:
        first = min(others, key=lambda r: str(r.created or ""))
        what = first.state.name if first.state else "waiting"
        raise PreflightRefused(
            f"integration_id: another handover of {integration_id} is not finished ({what}): "
            f"{services().run_url(str(first.id))} . Finish or cancel that run first; two at once would fight "
            "over the same connection"
        )
