"""What a human step stores about itself in the run's input store (``keys.record_key(step)``), so that a
rerun after a crash or a suspend, the sweeper and the CLI all read the same typed record."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from clients.humanstep.answer import Kind
from clients.humanstep.policy import WaitPolicy

DEFAULT_EXPIRED_STATE = "Nothing was changed by this step."


class PolicyFields(BaseModel):
    """A ``WaitPolicy`` as stored."""

    remind_every: float
    escalate_after: float
    deadline: float

    def policy(self) -> WaitPolicy:
        return WaitPolicy(self.remind_every, self.escalate_after, self.deadline)

    @classmethod
    def of(cls, policy: WaitPolicy) -> PolicyFields:
        return cls(remind_every=policy.remind_every, escalate_after=policy.escalate_after, deadline=policy.deadline)


class StepRecord(BaseModel):
    """One posted human step: its Slack message and thread, when it was posted, who it waits for, its kind and
    title, its wait policy and what state things are in if nobody answers."""

    channel: str
    ts: str
    thread_ts: str = ""
    posted_at: float
    assignee: str = ""
    kind: Kind = "task"
    title: str = ""
    policy: PolicyFields = Field(default_factory=lambda: PolicyFields.of(WaitPolicy()))
    state_if_expired: str = DEFAULT_EXPIRED_STATE
    requester: str = ""

    @field_validator("policy", mode="before")
    @classmethod
    def _stored_as_list(cls, value: Any) -> Any:
        """Records written before this model kept the policy as [remind_every, escalate_after, deadline]."""
        if isinstance(value, list | tuple) and len(value) == 3:
            return {"remind_every": value[0], "escalate_after": value[1], "deadline": value[2]}
        return value


class EscalationRecord(BaseModel):
    """A step escalated: the user group (handle) it was escalated to, and when (Unix time)."""

    group: str
    at: float


class ThreadRecord(BaseModel):
    """The run's Slack thread: its first message."""

    channel: str
    ts: str
