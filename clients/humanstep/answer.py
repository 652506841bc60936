"""What an answer to a human step carries, and what the gateway's attestation covers."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["done", "problem", "approve", "reject"]
Via = Literal["prefect-ui", "cli", "slack", "oauth", "deposit"]
Kind = Literal["task", "approval", "secret"]

OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    "task": ("done", "problem"),
    "secret": ("done", "problem"),
    "approval": ("approve", "reject"),
}
VERIFIED_PATHS = ("slack", "oauth", "deposit")  # the gateway vouches for these (its attestation)
SECRET_PATHS = ("oauth", "deposit")  # the only paths that bring a secret step's secret
MAX_NOTE = 2000
ATTESTED = ("flow_run_id", "key", "outcome", "note", "responder", "via", "vault_path", "vault_version", "answered_at")
TEMPLATE_MARKERS = re.compile(r"\{\{|\{%|\{#|%\}|\}\}")


class AnswerFields(BaseModel):
    """One person's answer to a human step. In the Prefect UI and the CLI it is self-declared."""

    outcome: Outcome = Field("done", description="done / problem for a task; approve / reject for an approval")
    note: str = Field("", max_length=MAX_NOTE, description="Anything the next person should know (optional)")
    responder: str = Field("", max_length=200, description="Who you are (recorded as self-declared)")
    via: Via = Field("prefect-ui", description="Leave as prefect-ui; the gateway and the CLI set their own")
    vault_path: str = Field("", description="Set by the gateway for secrets: where it stored the value")
    vault_version: int = Field(0, description="Set by the gateway for secrets: the staged version")
    answered_at: str = Field("", description="Set by the gateway and the CLI")
    attestation: str = Field("", description="Set by the gateway only; leave empty")


def has_template_markers(text: str) -> bool:
    """True when *text* holds Jinja markers, which Prefect's server would render inside run_input."""
    return bool(TEMPLATE_MARKERS.search(text))


def attested_fields(flow_run_id: str, key: str, answer: AnswerFields) -> dict[str, object]:
    """The fields the gateway's MAC covers: the run, the key it waited at, and the answer itself."""
    data = answer.model_dump()
    return {"flow_run_id": flow_run_id, "key": key, **{k: data[k] for k in ATTESTED if k in data}}
