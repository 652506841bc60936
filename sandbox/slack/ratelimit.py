"""chat.postMessage's per-channel limit: about one message a second per channel, else 429."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class ChannelRateLimiter:
    """A sliding one-second window per channel; ``per_second`` 0 switches the limit off.

    ``accepted`` and ``refused`` count, per channel, the posts let through and those answered 429 (for tests
    that check how many were refused and that no more than the limit got through in any window)."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.accepted: dict[str, int] = {}
        self.refused: dict[str, int] = {}

    def set_rate(self, per_second: float) -> None:
        with self._lock:
            self.per_second = per_second
            self._sent.clear()

    def check(self, channel: str, now: float | None = None) -> int | None:
        """Record a post and return None, or return the Retry-After seconds (the post is refused)."""
        if self.per_second <= 0:
            with self._lock:
                self.accepted[channel] = self.accepted.get(channel, 0) + 1
            return None
        now = time.monotonic() if now is None else now
        window = 1.0
        allowed = max(1, math.floor(self.per_second))
        if self.per_second < 1:  # e.g. 0.5/s: one post per 2 s
            window, allowed = 1.0 / self.per_second, 1
        with self._lock:
            sent = self._sent.setdefault(channel, deque())
            while sent and now - sent[0] >= window:
                sent.popleft()
            if len(sent) >= allowed:
                self.refused[channel] = self.refused.get(channel, 0) + 1
                return max(1, math.ceil(window - (now - sent[0])))
            sent.append(now)
            self.accepted[channel] = self.accepted.get(channel, 0) + 1
            return None
