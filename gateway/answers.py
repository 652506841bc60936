"""Build an answer the gateway vouches for, and hand it to Prefect."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from clients.humanstep import AnswerFields, EscalationRecord, StepRecord, attested_fields
from clients.humanstep.keys import escalation_key, record_key, waits_for
from clients.prefect_api import NotPaused, PrefectAPI, PrefectAPIError, is_run_id
from clients.vault import attestation
from core.errors import BatonError


class NotWaiting(BatonError):
    """The run is not paused at this step (answered already, another step, or finished)."""


@dataclass
class Resumer:
    prefect: PrefectAPI
    key: bytes

    def step_record(self, run_id: str, step_key: str) -> StepRecord | None:
        """The step's record (its Slack message, assignee, kind...), or None when the run has no such step."""
        try:
            return StepRecord.model_validate(self.prefect.run_input(run_id, record_key(step_key)))
        except ValidationError:
            return None

    def escalation(self, run_id: str, step_key: str) -> EscalationRecord | None:
        """The step's escalation (to which group), or None while it is not escalated."""
        try:
            return EscalationRecord.model_validate(self.prefect.run_input(run_id, escalation_key(step_key)))
        except ValidationError:
            return None

    def check_waiting(self, run_id: str, step_key: str) -> str:
        """The pause key the run waits at (the step's key, or a retry of it: ``<key>-r<n>``)."""
        if not is_run_id(run_id):  # a button or ticket naming no run: never part of a Prefect URL
            raise NotWaiting("this names no flow run (a run id is a UUID)")
        state = self.prefect.flow_run(run_id)
        if state is None:
            raise NotWaiting(f"there is no run {run_id}")
        if not state.paused:
            raise NotWaiting(f"the run is {state.state_name or state.state_type}, not waiting for an answer")
        key = state.pause_key or ""
        if not waits_for(key, step_key):
            raise NotWaiting("the run is waiting at another step; this message is out of date")
        return key

    def resume(self, run_id: str, step_key: str, **fields: Any) -> dict[str, Any]:
        """Check the run waits at *step_key*, attest the answer and resume the run. Returns the run_input."""
        pause_key = self.check_waiting(run_id, step_key)
        fields.setdefault("answered_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        answer = AnswerFields(**fields)
        mac = attestation.sign(self.key, attested_fields(run_id, pause_key, answer))
        run_input = answer.model_copy(update={"attestation": mac}).model_dump()
        try:
            self.prefect.resume(run_id, run_input)
        except NotPaused as exc:
            raise NotWaiting(str(exc)) from None
        except PrefectAPIError as exc:
            if "REJECT" in str(exc):
                raise NotWaiting(str(exc)) from None
            raise
        return run_input
