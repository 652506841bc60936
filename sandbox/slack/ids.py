"""Slack-shaped identifiers: message timestamps, trigger ids, generated block and action ids."""

from __future__ import annotations

import re
import secrets
import string
import threading
import time

TS = re.compile(r"^\d{10}\.\d{6}$")
_ALNUM = string.ascii_letters + string.digits


class TsClock:
    """Message timestamps ("1700000000.123456"), strictly increasing across the workspace."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            micros = max(int(time.time() * 1_000_000), self._last + 1)
            self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def is_ts(value: object) -> bool:
    return isinstance(value, str) and TS.match(value) is not None


def short_id(length: int = 5) -> str:
    """What Slack puts in ``block_id`` / ``action_id`` when the sender gave none (e.g. "Xk3pq")."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def trigger_id() -> str:
    now = time.time()
    return f"{int(now * 1000)}.{secrets.randbelow(10**10):010d}.{secrets.token_hex(16)}"


def action_ts() -> str:
    now = time.time()
    return f"{now:.6f}"


def dm_id(user_id: str) -> str:
    """The IM channel id for a user: D + the user id's tail (stable, so reopening finds the same)."""
    return "D" + user_id[1:]
