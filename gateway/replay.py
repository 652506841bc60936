"""Refuse a Slack request seen before (same signature) within the signature's 5-minute window."""

from __future__ import annotations

import threading
import time


class ReplayGuard:
    def __init__(self, window: float = 300.0) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, signature: str) -> bool:
        """True the first time *signature* is seen within the window."""
        now = time.monotonic()
        with self._lock:
            self._seen = {s: t for s, t in self._seen.items() if now - t < self.window}
            if signature in self._seen:
                return False
            self._seen[signature] = now
            return True
