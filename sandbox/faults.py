"""Faults on demand: per host and route, for the next N calls or a fraction of calls.

A rule is set through the admin endpoint (POST /faults) or the scenario's ``faults:`` list:

    {"host": "salesforce", "route": "/services/data/.*/query", "kind": "limit", "count": 2}
    {"host": "jira", "route": ".*", "kind": "ratelimit", "fraction": 0.5, "retry_after": 1}
    {"host": "slack", "route": "/api/chat.postMessage", "kind": "latency", "latency_ms": 300, "count": 1}

kinds: ``limit`` (Salesforce 403 REQUEST_LIMIT_EXCEEDED), ``unavailable`` (503), ``ratelimit`` (429 with Retry-
After, in the host's error shape), ``latency`` (added delay, then the normal answer), ``drop`` (the connection is
closed without an answer), ``expire_sessions`` (the host's vendor ends every session first, as its session timeout
would; the call is then answered as usual, i.e. INVALID_SESSION_ID on Salesforce), ``lost`` (the call is handled,
then the connection is closed before the answer: the change is made but the client does not know). ``after: N``
lets the first N matching calls through before the rule fires; ``count`` and ``fraction`` together fire on that
fraction of calls, at most ``count`` times (a storm with a budget).

The registry counts what it fired (``fired_counts()``: ``"<host> <kind>": n``) and, for answers that carried
Retry-After, the same calls (host, path, query and body: a retry) that came back before it had passed
(``early``): a client that honours Retry-After makes none.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["limit", "unavailable", "ratelimit", "latency", "drop", "lost", "expire_sessions"]
KINDS: tuple[str, ...] = ("limit", "unavailable", "ratelimit", "latency", "drop", "lost", "expire_sessions")


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood; the message names the field."""


@dataclass
class FaultRule:
    host: str
    route: str
    kind: FaultKind
    count: int | None = None
    fraction: float | None = None
    retry_after: int = 1
    latency_ms: int = 0
    method: str | None = None
    after: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)
    # each rule draws from its own generator, seeded by what it is: whether it fires on a call depends only on
    # the calls that match it (one host and route), not on other hosts' traffic, so a storm replays the same
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.count is None and self.fraction is None:
            raise FaultSpecError("give count (next N calls), fraction (0..1 of calls) or both (a fraction, N at most)")
        if self.count is not None and self.count < 1:
            raise FaultSpecError(f"count must be 1 or more; got {self.count}")
        if self.after < 0:
            raise FaultSpecError(f"after must be 0 or more; got {self.after}")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise FaultSpecError(f"fraction must be in (0, 1]; got {self.fraction}")
        self._random = random.Random(f"{self.host} {self.route} {self.kind} {self.method} {self.after}")
        try:
            self._pattern = re.compile(self.route)
        except re.error as exc:
            raise FaultSpecError(f"route is not a valid regular expression: {exc}") from exc

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FaultRule:
        allowed = {"host", "route", "kind", "count", "fraction", "retry_after", "latency_ms", "method", "after"}
        unknown = set(data) - allowed
        if unknown:
            raise FaultSpecError(f"unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        for key in ("host", "kind"):
            if not isinstance(data.get(key), str):
                raise FaultSpecError(f"{key} is required and must be a string, e.g. host: salesforce, kind: limit")
        return cls(
            host=str(data["host"]),
            route=str(data.get("route", ".*")),
            kind=data["kind"],  # type: ignore[arg-type]
            count=int(data["count"]) if data.get("count") is not None else None,  # type: ignore[call-overload]
            fraction=float(data["fraction"]) if data.get("fraction") is not None else None,  # type: ignore[arg-type]
            retry_after=int(data.get("retry_after", 1)),  # type: ignore[call-overload]
            latency_ms=int(data.get("latency_ms", 0)),  # type: ignore[call-overload]
            method=str(data["method"]).upper() if data.get("method") else None,
            after=int(data.get("after", 0)),  # type: ignore[call-overload]
        )

    def matches(self, host: str, method: str, path: str) -> bool:
        if host != self.host or (self.method and method.upper() != self.method):
            return False
        return self._pattern.search(path) is not None


class FaultRegistry:
    """Thread-safe list of rules; ``take`` consumes one firing of the first rule that matches."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._fired: dict[str, int] = {}
        self._holds: dict[tuple[str, str, str], float] = {}
        self.early: list[str] = []  # "<host> <METHOD> <path>" of each call made before its Retry-After passed

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self, host: str | None = None) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if host is not None and r.host != host]

    def list(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def fired_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._fired)

    def hold(self, host: str, path: str, call: str, seconds: float) -> None:
        """An answer told the client to wait *seconds* (Retry-After) before making *call* (a digest of its query
        and body) to *path* again."""
        with self._lock:
            self._holds[(host, path, call)] = time.monotonic() + seconds

    def note_call(self, host: str, method: str, path: str, call: str = "") -> None:
        """Count the call as early when it comes before the Retry-After given to the same call."""
        with self._lock:
            until = self._holds.get((host, path, call))
            if until is not None and time.monotonic() < until - 0.05:  # 50 ms for the answer's own transit
                self.early.append(f"{host} {method} {path}")

    def take(self, host: str, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if not rule.matches(host, method, path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                fire = rule.fraction is None or rule._random.random() < rule.fraction
                if not fire:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                key = f"{host} {rule.kind}"
                self._fired[key] = self._fired.get(key, 0) + 1
                return rule
            return None
