"""Refuse a Slack request seen before (same signature) within the signature's 5-minute window.

Kept in Vault, where every gateway process sees it (as the one-time tickets are): the first sighting of a
signature writes ``<prefix>/gateway/replay/<sha256(signature)>`` with check-and-set ``cas=0``, which Vault
accepts only while the key does not exist, so of two replicas that receive the same request exactly one
accepts it. A record's data is soft-deleted by Vault after twice the window (``delete_version_after``); the
key itself stays, and an older request is refused by its timestamp anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import hvac.exceptions
import requests

from clients.vault import Custody
from clients.vault.errors import translate


class ReplayGuard:
    def __init__(self, custody: Custody, window: float = 300.0) -> None:
        self.custody = custody
        self.window = window

    def path(self, signature: str) -> str:
        digest = hashlib.sha256(signature.encode("utf-8", "surrogateescape")).hexdigest()
        return f"{self.custody.prefix}/gateway/replay/{digest}"

    def first_time(self, signature: str) -> bool:
        """True the first time *signature* is seen, by any gateway process sharing this Vault; VaultError
        when Vault cannot say (the caller answers "try again", and accepts nothing)."""
        path = self.path(signature)
        now = dt.datetime.now(dt.UTC)
        record = {"seen_at": now.isoformat(timespec="seconds"),
                  "expires_at": (now + dt.timedelta(seconds=self.window)).isoformat(timespec="seconds")}  # fmt: skip
        kv = self.custody.client.secrets.kv.v2
        try:
            kv.create_or_update_secret(path=path, secret=record, cas=0, mount_point=self.custody.mount)
        except hvac.exceptions.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                return False
            raise translate(exc, method="replay", path=path) from None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise translate(exc, method="replay", path=path) from None
        try:
            after = f"{int(self.window * 2)}s"
            kv.update_metadata(path=path, delete_version_after=after, mount_point=self.custody.mount)
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            pass  # the record is written (the replay is guarded); only its clean-up is not scheduled
        return True
