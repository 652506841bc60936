"""A human step's record and the run's thread record in Prefect's run-input store (keys from
``clients.humanstep.keys``): read and written inside a run, and read by the sweeper for any run."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.exceptions import ObjectAlreadyExists
from prefect.input.actions import create_flow_run_input, read_flow_run_input
from pydantic import ValidationError

from clients.humanstep import EscalationRecord, StepRecord, ThreadRecord
from clients.humanstep.keys import THREAD, escalation_key, record_key


def _read(key: str) -> Any:
    try:
        return read_flow_run_input(key=key)
    except Exception:  # noqa: BLE001 - absent keys raise differently across Prefect versions
        return None


def read_step(step: str) -> StepRecord | None:
    """This run's record of *step*, or None if the step was never posted."""
    try:
        return StepRecord.model_validate(_read(record_key(step)))
    except ValidationError:
        return None


def write_step(step: str, record: StepRecord) -> None:
    create_flow_run_input(key=record_key(step), value=record.model_dump())


def read_thread() -> ThreadRecord | None:
    """This run's Slack thread, or None before it is posted."""
    try:
        return ThreadRecord.model_validate(_read(record_key(THREAD)))
    except ValidationError:
        return None


def write_thread(record: ThreadRecord) -> None:
    create_flow_run_input(key=record_key(THREAD), value=record.model_dump())


def read_step_of(client: SyncPrefectClient, run_id: UUID, step: str) -> StepRecord | None:
    """Another run's record of *step* (for the sweeper); None when it has none (not a Baton step)."""
    try:
        return StepRecord.model_validate(json.loads(client.read_flow_run_input(run_id, record_key(step))))
    except Exception:  # noqa: BLE001 - absent (404), or not a Baton record
        return None


def write_escalation(run_id: UUID | str, step: str, record: EscalationRecord) -> None:
    """Record that *step* of *run_id* was escalated (once: a second write keeps the first). Works outside the
    run's context (the paused wait's reminder thread, the sweeper)."""
    with get_client(sync_client=True) as client:
        try:
            client.create_flow_run_input(UUID(str(run_id)), escalation_key(step), record.model_dump_json())
        except ObjectAlreadyExists:
            pass


def read_escalation(step: str) -> EscalationRecord | None:
    """This run's record of *step*'s escalation, or None while it is not escalated."""
    try:
        return EscalationRecord.model_validate(_read(escalation_key(step)))
    except ValidationError:
        return None
