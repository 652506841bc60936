"""One typed settings object for every part of Baton (env prefix ``BATON_``, optional ``.env``).

``load_settings()`` turns a missing or malformed setting into a ``ConfigError`` that names the
environment variable and shows an example value; ``.env.example`` documents every key.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, HttpUrl, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

ENV_PREFIX = "BATON_"


def _f(default: Any, example: str, description: str, **constraints: Any) -> Any:
    """A field with its description and an example value (shown when the setting is wrong)."""
    return Field(default, description=description, json_schema_extra={"example": example}, **constraints)


class Settings(BaseSettings):
    """Baton's configuration. Secrets are ``SecretStr`` and never printed."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    # Vault (HashiCorp Vault or OpenBao), KV v2
    vault_addr: HttpUrl = _f(HttpUrl("http://127.0.0.1:8200"), "http://127.0.0.1:8200", "Vault address")
    vault_token: SecretStr | None = _f(None, "hvs.XXXX", "Vault token (dev); or set role_id + secret_id")
    vault_role_id: str | None = _f(None, "1b2c3d4e-...", "AppRole role_id (deployments)")
    vault_secret_id: SecretStr | None = _f(None, "5f6a7b8c-...", "AppRole secret_id (deployments)")
    vault_approle_mount: str = _f("approle", "approle", "AppRole auth mount")
    vault_kv_mount: str = _f("secret", "secret", "KV v2 mount point")
    vault_prefix: str = _f("baton", "baton", "Path prefix every Baton secret lives under")
    vault_ca_file: str | None = _f(None, "/etc/ssl/vault-ca.pem", "CA bundle for Vault's TLS")

    # Prefect
    prefect_api_url: HttpUrl = _f(HttpUrl("http://127.0.0.1:4200/api"), "http://127.0.0.1:4200/api", "Prefect API URL")
    prefect_ui_url: HttpUrl | None = _f(
        None, "http://127.0.0.1:4200", "Prefect UI base for links (default: the API URL without /api)"
    )
    prefect_api_auth_string: SecretStr | None = _f(
        None, "baton:change-me", "user:password for a Prefect API behind HTTP Basic (else PREFECT_API_AUTH_STRING)"
    )
    prefect_pause_poll_seconds: float = _f(
        1.0, "1", "How often a paused run polls for an answer (Prefect's 10 s is too slow for people)", gt=0
    )

    # Slack
    slack_bot_token: SecretStr | None = _f(None, "xoxb-...", "Slack bot token")
    slack_signing_secret: SecretStr | None = _f(None, "8f14e45f...", "Slack app signing secret")
    slack_base_url: HttpUrl = _f(HttpUrl("https://slack.com/api/"), "https://slack.com/api/", "Slack Web API base")
    slack_channel: str = _f("#it-handover", "#it-handover", "Channel for rotation threads")
    slack_audit_channel: str = _f("#it-audit", "#it-audit", "Channel for audit reports")
    slack_approver_group: str = _f("baton-approvers", "baton-approvers", "User group whose members may approve")
    slack_escalation_group: str = _f("it-escalation", "it-escalation", "User group handle to escalate to")
    approvals_slack_only: bool = _f(True, "true", "Accept approvals only through signed Slack clicks")

    # Gateway
    gateway_url: HttpUrl = _f(
        HttpUrl("http://127.0.0.1:8700"), "https://baton.example.com", "Public base URL of Baton's gateway"
    )
    gateway_hook_secret: SecretStr | None = _f(
        None, "whsec-...", "Shared secret of the offboarding webhook (HMAC-SHA256 or Bearer)"
    )
    gateway_ticket_ttl_seconds: int = _f(3600, "3600", "Lifetime of a deposit link or OAuth state", gt=0)
    offboarding_deployment: str = _f(
        "offboard-person/offboard-person", "offboard-person/offboard-person", "Deployment the webhook starts"
    )

    # Offboarding
    catalog_path: str = _f(
        "deployments/catalog/alice-leaving.yaml", "/etc/baton/catalog.yaml", "The integration catalog (YAML)"
    )
    org_timezone: str = _f("Europe/London", "Europe/London", "The organisation's time zone (leave dates, schedules)")
    handover_margin_minutes: int = _f(
        120, "120", "How long before a leave date the scheduled handovers should be finished", ge=0
    )
    okta_hook_secret: SecretStr | None = _f(
        None, "okta-hook-secret-...", "Value of the Authorization header Okta's event hook sends"
    )
    okta_hook_header: str = _f("Authorization", "Authorization", "Header Okta's event hook sends the secret in")

    # Baton's own OAuth clients (callback: <gateway_url>/oauth/<provider>/callback)
    salesforce_client_id: str | None = _f(None, "3MVG9...", "Baton's connected app consumer key")
    salesforce_client_secret: SecretStr | None = _f(None, "ABC123...", "Baton's connected app consumer secret")
    salesforce_jwt_app: str | None = _f(
        None,
        "Baton Integration",
        "Connected app (installed, admin-approved) whose certificate Baton sets for credential_mode=jwt",
    )
    jira_client_id: str | None = _f(None, "baton-jira-client", "Baton's Atlassian 3LO app client id")
    jira_client_secret: SecretStr | None = _f(None, "ATOA...", "Baton's Atlassian 3LO app secret")

    # SaaS base URLs (the real vendors by default; the demo and tests point them at the sandbox)
    salesforce_login_url: HttpUrl = _f(
        HttpUrl("https://login.salesforce.com"), "https://login.salesforce.com", "Salesforce login host"
    )
    salesforce_ca_file: str | None = _f(
        None, "/etc/baton/sandbox-ca.pem", "CA bundle for Salesforce's TLS (the sandbox's self-signed cert)"
    )
    jira_site_url: HttpUrl = _f(
        HttpUrl("https://your-domain.atlassian.net"), "https://acme.atlassian.net", "Jira Cloud site"
    )
    jira_auth_url: HttpUrl = _f(HttpUrl("https://auth.atlassian.com"), "https://auth.atlassian.com", "Atlassian OAuth")
    jira_api_url: HttpUrl = _f(HttpUrl("https://api.atlassian.com"), "https://api.atlassian.com", "Atlassian API")
    jira_admin_email: str | None = _f(
        None, "it-admin@acme.example", "Baton's Jira Cloud administrator (creates users, checks permissions)"
    )
    jira_admin_api_token: SecretStr | None = _f(None, "ATATT3x...", "That administrator's Atlassian API token")
    jira_server_url: HttpUrl | None = _f(None, "https://jira.acme.example", "Jira Server/Data Center base URL")
    intercom_api_url: HttpUrl = _f(HttpUrl("https://api.intercom.io"), "https://api.intercom.io", "Intercom API")
    intercom_app_url: HttpUrl = _f(HttpUrl("https://app.intercom.com"), "https://app.intercom.com", "Intercom app")
    jotform_api_url: HttpUrl = _f(HttpUrl("https://api.jotform.com"), "https://api.jotform.com", "Jotform API")
    jotform_api_key: SecretStr | None = _f(
        None, "0123456789abcdef...", "Jotform API key (read access): flows check a form exists before changing anything"
    )

    @field_validator("org_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. 'Europe/London'") from None
        return value

    @field_validator("vault_kv_mount", "vault_prefix", "vault_approle_mount")
    @classmethod
    def _path_segment(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(part in ("", ".", "..") for part in value.split("/")):
            raise ValueError("must be a non-empty path such as 'baton' (no empty, '.' or '..' segments)")
        return value

    @model_validator(mode="after")
    def _vault_auth(self) -> Settings:
        if self.vault_token is None and not (self.vault_role_id and self.vault_secret_id):
            raise ValueError(
                "Vault auth is missing: set BATON_VAULT_TOKEN (e.g. hvs.XXXX), or BATON_VAULT_ROLE_ID and "
                "BATON_VAULT_SECRET_ID for AppRole"
            )
        if (self.vault_role_id is None) != (self.vault_secret_id is None):
            raise ValueError("AppRole needs both BATON_VAULT_ROLE_ID and BATON_VAULT_SECRET_ID; one of them is missing")
        return self


class OperatorSettings(Settings):
    """Settings for tools that never touch Vault (the operators' CLI): Vault auth is not required."""

    @model_validator(mode="after")
    def _vault_auth(self) -> OperatorSettings:
        return self


def _example(field: str) -> str:
    info = Settings.model_fields.get(field)
    extra = info.json_schema_extra if info else None
    return str(extra.get("example", "")) if isinstance(extra, dict) else ""


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: the environment variable, what is wrong, an example value."""
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        if field:
            key = ENV_PREFIX + field.upper()
            got = err.get("input")
            shown = "" if "secret" in field or "token" in field else f" (got {got!r})"
            lines.append(f"{key}: {err['msg']}{shown}; example: {key}={_example(field)}")
        else:
            lines.append(str(err["msg"]).removeprefix("Value error, "))
    return "Baton's settings are not usable:\n  " + "\n  ".join(lines)


def load_settings(*, vault: bool = True, **overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``; raise ``ConfigError`` naming each bad key.

    ``vault=False`` is for tools that never reach Vault: its auth settings are then not required.
    """
    try:
        return Settings(**overrides) if vault else OperatorSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
