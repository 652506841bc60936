"""Every name a human step uses in Prefect's run-input store, spelled once.

- ``record_key(step)``: the step's record (``StepRecord``), written when its Slack message is posted.
- ``wait_key(step, attempt)``: the pause/suspend key; attempt 0 is the step's key, a wait after a refused
  answer is ``<step>-r<n>``; ``step_of(pause_key)`` goes back.
- ``THREAD``: the run's Slack thread (its first message), as a record of its own.
- ``sweep_key(step, action, n)``: the sweeper's note that it did the n-th *action* for a suspended step.
- ``escalation_key(step)``: the step's escalation (``EscalationRecord``: to which group, when), written when
  it is escalated, by the paused wait or the sweeper; the gateway reads it to know who else may answer.
"""

from __future__ import annotations

import re

RECORD_PREFIX = "baton-step-"
SWEEP_PREFIX = "baton-sweep-"
ESCALATION_PREFIX = "baton-escalated-"
THREAD = "thread"
_RETRY = re.compile(r"^(?P<step>.+)-r(?P<n>[1-9]\d*)$")


def record_key(step: str) -> str:
    """Where a step's record lives: ``baton-step-<step>``."""
    return f"{RECORD_PREFIX}{step}"


def escalation_key(step: str) -> str:
    """Where a step's escalation is recorded: ``baton-escalated-<step>``."""
    return f"{ESCALATION_PREFIX}{step}"


def wait_key(step: str, attempt: int) -> str:
    """The key a step waits at: the step's own key first, ``<step>-r<n>`` after the n-th refused answer."""
    if attempt < 0:
        raise ValueError("attempt must be 0 or more")
    return step if attempt == 0 else f"{step}-r{attempt}"


def step_of(pause_key: str) -> str:
    """The step a pause key belongs to (a retry key's step; any other key is its own step)."""
    match = _RETRY.match(pause_key)
    return match.group("step") if match else pause_key


def waits_for(pause_key: str, step: str) -> bool:
    """True when a run waiting at *pause_key* is waiting for *step* (first wait or a retry)."""
    return pause_key == step or step_of(pause_key) == step


def sweep_prefix(step: str) -> str:
    return f"{SWEEP_PREFIX}{step}-"


def sweep_key(step: str, action: str, number: int) -> str:
    """The sweeper's record that it did the *number*-th *action* (remind, escalate, expire) for *step*."""
    return f"{sweep_prefix(step)}{action}-{number}"


def sweep_action(step: str, key: str) -> str:
    """The action a sweep key records ('' when *key* is not one of *step*'s)."""
    if not key.startswith(sweep_prefix(step)):
        return ""
    return key.removeprefix(sweep_prefix(step)).rsplit("-", 1)[0]
