"""Which failures a task retries, and how long it waits: 429/503 and Salesforce's
REQUEST_LIMIT_EXCEEDED are retried with back-off (longer when the remote sent Retry-After);
400/401/403 and permission errors fail at once with their message."""

from __future__ import annotations

import time
from typing import Any

from prefect.client.schemas.objects import State

RETRY_DELAYS = [1, 4, 15]  # seconds before retries 1, 2, 3
MAX_RETRY_AFTER = 120


def _exception(state: State[Any]) -> BaseException | None:
    try:
        state.result(raise_on_failure=True)
    except BaseException as exc:  # noqa: BLE001 - we only inspect it
        return exc
    return None


def transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """``retry_condition_fn``: retry only what the remote marked as retryable; honour Retry-After."""
    exc = _exception(state)
    if not getattr(exc, "retryable", False):
        return False
    retry_after = float(getattr(exc, "retry_after", 0) or 0)
    attempt = max(0, int(getattr(task_run, "run_count", 1)) - 1)
    planned = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
    if retry_after > planned:
        time.sleep(min(retry_after, MAX_RETRY_AFTER) - planned)
    return True


RETRY = {"retries": len(RETRY_DELAYS), "retry_delay_seconds": RETRY_DELAYS, "retry_condition_fn": transient}
