"""Vault custody over hvac, KV v2: stage → verify → promote, previous kept for rollback."""

from clients.vault.auth import VaultAuth, connect
from clients.vault.custody import CurrentSecret, Custody, CustodyState, StagedSecret
from clients.vault.errors import (
    CustodyConflict,
    CustodyInputError,
    VaultAuthError,
    VaultBusy,
    VaultError,
    VaultNotFound,
    VaultPermissionDenied,
    VaultUnreachable,
    retrying,
)

__all__ = [
    "CurrentSecret",
    "Custody",
    "CustodyConflict",
    "CustodyInputError",
    "CustodyState",
    "StagedSecret",
    "VaultAuth",
    "VaultAuthError",
    "VaultBusy",
    "VaultError",
    "VaultNotFound",
    "VaultPermissionDenied",
    "VaultUnreachable",
    "connect",
    "retrying",
]
