"""The contract of a human step, shared by flows (which wait), the gateway and the CLI (which answer), and the
sweeper (which reminds). No Prefect imports.

- ``answer``: what an answer carries (``AnswerFields``; the flow's RunInput is built on it) and what the
  gateway's attestation covers;
- ``keys``: every run-input key a step uses (its record, its waits and retries, the thread, the sweeper);
- ``record``: ``StepRecord``, what a step stores about itself (and ``EscalationRecord`` once escalated);
  ``policy``: ``WaitPolicy``;
- ``rules``: who may answer what (``refusal``), for every path;
- ``blocks``: the Slack message and its buttons (``ButtonValue``).
"""

from clients.humanstep.answer import (
    ATTESTED,
    MAX_NOTE,
    OUTCOMES_BY_KIND,
    SECRET_PATHS,
    VERIFIED_PATHS,
    AnswerFields,
    Kind,
    Outcome,
    Via,
    attested_fields,
    has_template_markers,
)
from clients.humanstep.blocks import (
    ACTION_IDS,
    LINK_ACTION,
    NOTE_ACTION,
    NOTE_BLOCK,
    ButtonValue,
    answered_blocks,
    step_blocks,
)
from clients.humanstep.policy import Action, WaitPolicy
from clients.humanstep.record import EscalationRecord, StepRecord, ThreadRecord
from clients.humanstep.rules import Answer, Refusal, may_answer, refusal

__all__ = [
    "ACTION_IDS",
    "ATTESTED",
    "LINK_ACTION",
    "MAX_NOTE",
    "NOTE_ACTION",
    "NOTE_BLOCK",
    "OUTCOMES_BY_KIND",
    "SECRET_PATHS",
    "VERIFIED_PATHS",
    "Action",
    "Answer",
    "AnswerFields",
    "ButtonValue",
    "EscalationRecord",
    "Kind",
    "Outcome",
    "Refusal",
    "StepRecord",
    "ThreadRecord",
    "Via",
    "WaitPolicy",
    "answered_blocks",
    "attested_fields",
    "has_template_markers",
    "may_answer",
    "refusal",
    "step_blocks",
]
