"""What is found live for a person: the Salesforce connected apps they authorised (OauthToken by
UserId; the Jira connectors and Jotform's Salesforce integration are such apps), and freezing their
Salesforce login once everything is handed over. Results are names and ids, never a token."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import get_run_logger, task

from clients import salesforce_access as access
from tasks.connections import salesforce_admin
from tasks.retry import RETRY

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}


@task(**PERSIST)
def salesforce_grants(username: str) -> dict[str, Any]:
    """``{"user_id": Id or None, "grants": [{app_name, user_id, created, last_used, use_count}]}``."""
    sf = salesforce_admin()
    user_id = access.user_id_of(sf, username)
    if user_id is None:
        return {"user_id": None, "grants": []}
    return {"user_id": user_id, "grants": [asdict(g) for g in access.grants_of(sf, user_id)]}


@task(**PERSIST)
def freeze_salesforce_user(username: str) -> dict[str, Any]:
    """UserLogin.IsFrozen = true for *username* (never delete, never deactivate); idempotent."""
    sf = salesforce_admin()
    user_id = access.user_id_of(sf, username)
    if user_id is None:
        return {"user_id": None, "changed": False, "frozen": False}
    changed = access.freeze(sf, user_id)
    get_run_logger().info("Salesforce user %s (%s) %s", username, user_id, "frozen" if changed else "already frozen")
    return {"user_id": user_id, "changed": changed, "frozen": access.is_frozen(sf, user_id)}
