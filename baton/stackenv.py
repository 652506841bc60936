"""The BATON_* / PREFECT_* environment that wires Baton to a local stack (the demo and the tests)."""

from __future__ import annotations

from typing import Any

from baton.devstack import PrefectServer
from core.settings import Settings


def stack_env(
    *,
    vault_addr: str,
    vault_token: str,
    prefect: PrefectServer,
    urls: dict[str, str],
    ca_file: str,
    slack_bot_token: str,
    slack_signing_secret: str,
    gateway_url: str,
    hook_secret: str = "hook-secret-for-tests-0001",
    okta_hook_secret: str = "okta-hook-secret-for-tests-0001",
) -> dict[str, str]:
    """Settings for flows, workers, the gateway and the CLI; SaaS base URLs point at the sandbox's *urls*; the
    Prefect server's auth string both as Baton's setting and as Prefect's own (``client_env()``)."""
    auth = {"BATON_PREFECT_API_AUTH_STRING": prefect.auth_string} if prefect.auth_string else {}
    return {
        "BATON_VAULT_ADDR": vault_addr,
        "BATON_VAULT_TOKEN": vault_token,
        "BATON_PREFECT_API_URL": prefect.api_url,
        **auth,
        "BATON_SLACK_BOT_TOKEN": slack_bot_token,
        "BATON_SLACK_SIGNING_SECRET": slack_signing_secret,
        "BATON_SLACK_BASE_URL": urls["slack"] + "/api/",
        "BATON_SLACK_CHANNEL": "C0HANDOVER",
        "BATON_GATEWAY_URL": gateway_url,
        "BATON_GATEWAY_HOOK_SECRET": hook_secret,
        "BATON_OKTA_HOOK_SECRET": okta_hook_secret,
        "BATON_SALESFORCE_LOGIN_URL": urls["salesforce"],
        "BATON_SALESFORCE_CA_FILE": ca_file,
        # Baton's connected app in the sandbox's scenario
        "BATON_SALESFORCE_CLIENT_ID": "baton-salesforce-client-0001",
        "BATON_SALESFORCE_CLIENT_SECRET": "baton-salesforce-secret-0001",
        "BATON_SALESFORCE_JWT_APP": "Baton Integration",
        "BATON_JIRA_CLIENT_ID": "baton-jira-client-0001",
        "BATON_JIRA_CLIENT_SECRET": "baton-jira-secret-0001",
        "BATON_JIRA_SITE_URL": urls["jira"],
        "BATON_JIRA_AUTH_URL": urls["jira"],
        "BATON_JIRA_API_URL": urls["jira"],
        "BATON_JIRA_SERVER_URL": urls["jira_server"],
        # bob is the Jira site admin in the sandbox's scenario
        "BATON_JIRA_ADMIN_EMAIL": "bob@acme.example",
        "BATON_JIRA_ADMIN_API_TOKEN": "ATATT-bob-token-0001",
        "BATON_INTERCOM_API_URL": urls["intercom"],
        "BATON_INTERCOM_APP_URL": urls["intercom"],
        "BATON_JOTFORM_API_URL": urls["jotform"],
        **prefect.client_env(),
    }


def settings_from(env: dict[str, str]) -> Settings:
    """Settings built from a stack_env() mapping rather than this process's environment."""
    values: dict[str, Any] = {k.removeprefix("BATON_").lower(): v for k, v in env.items() if k.startswith("BATON_")}
    return Settings(**values)
