"""Prefect tasks over the Jira Cloud client for the Intercom app user: the dedicated Jira user (looked up by
e-mail first: never a duplicate), its groups (each added only when missing), and its permissions on the projects
the Intercom app uses (the bulk permission check, by accountId)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from clients.jira import JiraClient
from core.errors import BatonError
from tasks.retry import RETRY
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}


class JiraSetupRefused(BatonError):
    """The Jira side does not give the app user what the app needs; the message names what is missing."""


def jira_admin() -> JiraClient:
    settings = services().settings
    if not settings.jira_admin_email or settings.jira_admin_api_token is None:
        raise JiraSetupRefused(
            "set BATON_JIRA_ADMIN_EMAIL and BATON_JIRA_ADMIN_API_TOKEN (a Jira administrator's Atlassian API token)"
        )
    return JiraClient(
        str(settings.jira_site_url), settings.jira_admin_email, settings.jira_admin_api_token.get_secret_value()
    )


@task(**PERSIST)
def find_account(email: str) -> dict[str, Any] | None:
    """The Jira account with *email* (``GET /user/search``), or None; nothing is changed."""
    with jira_admin() as jira:
        found = jira.find_user(email)
    if found is None:
        return None
    return {"account_id": found.account_id, "display_name": found.display_name, "active": found.active}


@task(**PERSIST)
def ensure_account(email: str, display_name: str) -> dict[str, Any]:
    """The dedicated Jira user: found by e-mail, else created (``POST /user``; it takes a Jira Software seat and
    Atlassian e-mails an invitation). ``{"account_id", "display_name", "created"}``."""
    with jira_admin() as jira:
        found = jira.find_user(email)
        if found is not None:
            if not found.active:
                raise JiraSetupRefused(f"successor: the Jira account {email} is deactivated; reactivate it in admin."
                                       "atlassian.com (Directory > Users) or choose another e-mail")  # fmt: skip
            get_run_logger().info("Jira account %s exists already (%s); not creating another", email, found.account_id)
            return {"account_id": found.account_id, "display_name": found.display_name, "created": False}
        made = jira.create_user(email, display_name, ["jira-software"])
    get_run_logger().info("created Jira account %s (%s): it takes a seat; Atlassian invited it", email, made.account_id)
    return {"account_id": made.account_id, "display_name": made.display_name, "created": True}


@task(**PERSIST)
def ensure_groups(account_id: str, groups: list[str]) -> list[str]:
    """Add the account to each of *groups* it is not in yet; returns the groups added."""
    with jira_admin() as jira:
        have = set(jira.groups(account_id))
        added = [g for g in groups if g not in have]
        for group in added:
            jira.add_to_group(account_id, group)
    get_run_logger().info("Jira account %s: added to %s", account_id, added or "no group (all there)")
    return added


@task(**PERSIST)
def check_permissions(account_id: str, permissions: list[str], projects: list[int]) -> dict[str, list[int]]:
    """The account must have every one of *permissions* on every one of *projects* (``POST /permissions/check``);
    otherwise refuse, naming each missing permission and project."""
    with jira_admin() as jira:
        granted = jira.permitted_projects(account_id, permissions, projects)
    missing = [(p, pid) for p in permissions for pid in projects if pid not in granted.get(p, [])]
    if missing:
        listed = ", ".join(f"{p} on project {pid}" for p, pid in missing)
        raise JiraSetupRefused(
            f"the app user lacks {listed}: the Intercom app runs as it and needs these. Grant them in the project's "
            "permission scheme (Project settings > Permissions), e.g. through a group given in groups, then start again"
        )
    return granted
