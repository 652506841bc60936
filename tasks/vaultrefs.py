"""Vault references a flow needs before it asks a person (never a value)."""

from __future__ import annotations

from typing import Any

from prefect import task

from clients.vault import VaultNotFound
from tasks.retry import RETRY
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}


@task(**PERSIST)
def current_version(vault_path: str) -> int:
    """The current version at *vault_path* (0 when there is none)."""
    try:
        return services().custody.describe(vault_path).current_version or 0
    except VaultNotFound:
        return 0
