"""What the connector handovers share: how long a person has for each step, and the disconnected window."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from pydantic import BaseModel, Field, model_validator

from flows.plan import InvalidRequest, validate
from flows.reminders import WaitPolicy
from flows.reporting import say, thread

M = TypeVar("M", bound=BaseModel)

INTEGRATION_ID = r"^[a-z0-9][a-z0-9._-]{1,62}$"


class Waits(BaseModel):
    """Per human step, in minutes from when it was posted: remind every, escalate after, give up at."""

    remind_every_minutes: float = Field(default=240, gt=0)
    escalate_after_minutes: float = Field(default=1440, gt=0)
    deadline_minutes: float = Field(default=4320, gt=0)

    @model_validator(mode="after")
    def _order(self) -> Waits:
        if self.escalate_after_minutes > self.deadline_minutes:
            raise ValueError("escalate_after_minutes must not be after deadline_minutes")
        return self

    def policy(self) -> WaitPolicy:
        return WaitPolicy(
            remind_every=self.remind_every_minutes * 60,
            escalate_after=self.escalate_after_minutes * 60,
            deadline=self.deadline_minutes * 60,
        )


def validated(model: type[M], request: M | dict[str, Any], title: str) -> M:
    """``plan.validate``, and a refused request is also said in Slack (a thread of its own), then raised."""
    try:
        return validate(model, request)
    except InvalidRequest as exc:
        say(thread(f"*{title}*: request refused"), f":x: *Refused before any change*: {exc}")
        raise


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def minutes_between(start_iso: str, end_iso: str) -> float:
    """Minutes from *start_iso* to *end_iso* (ISO 8601), one decimal."""
    start, end = dt.datetime.fromisoformat(start_iso), dt.datetime.fromisoformat(end_iso)
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return round(max(0.0, (end - start).total_seconds()) / 60, 1)


def hhmm(iso: str) -> str:
    return f" at {dt.datetime.fromisoformat(iso).strftime('%H:%M')} UTC" if iso else ""
