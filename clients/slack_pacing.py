"""One post a second per Slack channel, shared by every thread and process on this machine.

Slack accepts about one ``chat.postMessage`` a second per channel and answers the rest 429 with Retry-After.
Several runs starting together (each its own process) all post their first step at once; instead of letting
them collide and retry, each post takes the channel's *slot*: an exclusive ``flock`` on a small file per channel
(in the system's temp directory), which holds when the channel's last post was answered. The post waits until
*interval* has passed since then, is sent, and the time of its answer is written back before the lock is let
go, so posts reach Slack at least *interval* apart. Posts from another machine are not paced here: their 429s
are absorbed by the client's patient, Retry-After-honouring retries (clients/slack.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INTERVAL = 1.05  # seconds between two posts to one channel (Slack's 1/s plus a margin for clock and transit)


def default_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"baton-slack-pacing-{os.getuid()}"


class ChannelPacer:
    """``with pacer.slot(channel): post(...)``: at most one post per *interval* per channel."""

    def __init__(self, scope: str, directory: Path | None = None, interval: float = INTERVAL) -> None:
        self.scope = scope  # the workspace's API base: channels of two workspaces never share a slot
        self.directory = directory or default_directory()
        self.interval = interval
        self.waited = 0.0  # seconds this pacer held posts back (for tests and logs)

    def _path(self, channel: str) -> Path:
        digest = hashlib.sha256(f"{self.scope}\n{channel}".encode()).hexdigest()[:24]
        return self.directory / f"{digest}.last"

    @contextmanager
    def slot(self, channel: str) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path(channel), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            try:
                last = float(raw) if raw else 0.0
            except ValueError:
                last = 0.0
            wait = min(last + self.interval - time.time(), self.interval)  # a clock jump never stalls posting
            if wait > 0:
                self.waited += wait
                time.sleep(wait)
            try:
                yield
            finally:
                stamp = repr(time.time()).encode("ascii")
                os.ftruncate(fd, 0)
                os.pwrite(fd, stamp, 0)
        finally:
            os.close(fd)  # closing the descriptor lets the lock go
