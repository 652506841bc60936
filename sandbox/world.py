"""The sandbox's shared in-memory world: every stand-in's state, the inbox and the faults."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.faults import FaultRegistry


@dataclass
class Mail:
    """One e-mail a stand-in sent (user verification, security-token reset...)."""

    to: str
    sender: str
    subject: str
    body: str
    links: list[str] = field(default_factory=list)


@dataclass
class World:
    """Everything the stand-ins know. One lock guards all of it: the stand-ins are small."""

    urls: dict[str, str] = field(default_factory=dict)
    ca_file: str = ""  # the sandbox CA/cert file, for stand-ins that call each other over HTTPS
    vendors: dict[str, Any] = field(default_factory=dict)
    faults: FaultRegistry = field(default_factory=FaultRegistry)
    calls: Counter[str] = field(default_factory=Counter)
    inbox: list[Mail] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def send_mail(self, mail: Mail) -> None:
        with self.lock:
            self.inbox.append(mail)

    def mails_for(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.inbox if m.to.lower() == address.lower()]

    def count_call(self, host: str, method: str, path: str) -> None:
        with self.lock:
            self.calls[f"{host} {method} {path}"] += 1
