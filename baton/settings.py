"""One typed settings object for every part of Baton (env prefix ``BATON_``, optional ``.env``).

``load_settings()`` turns a missing or malformed setting into a ``ConfigError`` that names the
environment variable and shows an example value; ``.env.example`` documents every key.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, HttpUrl, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from baton.errors import ConfigError

ENV_PREFIX = "BATON_"


def _ex(value: str, description: str) -> Any:
    return Field(description=description, json_schema_extra={"example": value})


class Settings(BaseSettings):
    """Baton's configuration. Secrets are ``SecretStr`` and never printed."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    # Vault (HashiCorp Vault or OpenBao), KV v2
    vault_addr: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:8200"),
        description="Vault address",
        json_schema_extra={"example": "http://127.0.0.1:8200"},
    )
    vault_token: SecretStr | None = Field(
        None, description="Vault token (dev); or set role_id + secret_id", json_schema_extra={"example": "hvs.XXXX"}
    )
    vault_role_id: str | None = Field(
        None, description="AppRole role_id (deployments)", json_schema_extra={"example": "1b2c3d4e-..."}
    )
    vault_secret_id: SecretStr | None = Field(
        None, description="AppRole secret_id (deployments)", json_schema_extra={"example": "5f6a7b8c-..."}
    )
    vault_approle_mount: str = Field(
        "approle", description="AppRole auth mount", json_schema_extra={"example": "approle"}
    )
    vault_kv_mount: str = Field("secret", description="KV v2 mount point", json_schema_extra={"example": "secret"})
    vault_prefix: str = Field(
        "baton", description="Path prefix every Baton secret lives under", json_schema_extra={"example": "baton"}
    )
    vault_ca_file: str | None = Field(
        None, description="CA bundle for Vault's TLS", json_schema_extra={"example": "/etc/ssl/vault-ca.pem"}
    )

    # Prefect
    prefect_api_url: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:4200/api"),
        description="Prefect API URL",
        json_schema_extra={"example": "http://127.0.0.1:4200/api"},
    )
    prefect_ui_url: HttpUrl | None = Field(
        None,
        description="Prefect UI base for links (default: from the API URL)",
        json_schema_extra={"example": "http://127.0.0.1:4200"},
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(
        None, description="Slack bot token", json_schema_extra={"example": "xoxb-..."}
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack app signing secret", json_schema_extra={"example": "8f14e45f..."}
    )
    slack_base_url: HttpUrl = Field(
        HttpUrl("https://slack.com/api/"),
        description="Slack Web API base",
        json_schema_extra={"example": "https://slack.com/api/"},
    )
    slack_channel: str = Field(
        "#it-handover", description="Channel for rotation threads", json_schema_extra={"example": "#it-handover"}
    )
    slack_audit_channel: str = Field(
        "#it-audit", description="Channel for audit reports", json_schema_extra={"example": "#it-audit"}
    )
    slack_approver_group: str = Field(
        "baton-approvers",
        description="User group handle whose members may approve",
        json_schema_extra={"example": "baton-approvers"},
    )
    slack_escalation_group: str = Field(
        "it-escalation", description="User group handle to escalate to", json_schema_extra={"example": "it-escalation"}
    )
    approvals_slack_only: bool = Field(
        True, description="Accept approvals only through signed Slack clicks", json_schema_extra={"example": "true"}
    )

    # Gateway
    gateway_url: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:8700"),
        description="Public base URL of Baton's gateway",
        json_schema_extra={"example": "https://baton.example.com"},
    )

    # SaaS base URLs (the real vendors by default; the demo and tests point them at the sandbox)
    salesforce_login_url: HttpUrl = Field(
        HttpUrl("https://login.salesforce.com"),
        description="Salesforce login host",
        json_schema_extra={"example": "https://login.salesforce.com"},
    )
    salesforce_ca_file: str | None = Field(
        None,
        description="CA bundle for Salesforce's TLS (the sandbox's self-signed cert)",
        json_schema_extra={"example": "/etc/baton/sandbox-ca.pem"},
    )
    jira_site_url: HttpUrl = Field(
        HttpUrl("https://your-domain.atlassian.net"),
        description="Jira Cloud site",
        json_schema_extra={"example": "https://acme.atlassian.net"},
    )
    jira_auth_url: HttpUrl = Field(
        HttpUrl("https://auth.atlassian.com"),
        description="Atlassian OAuth host",
        json_schema_extra={"example": "https://auth.atlassian.com"},
    )
    jira_api_url: HttpUrl = Field(
        HttpUrl("https://api.atlassian.com"),
        description="Atlassian API gateway",
        json_schema_extra={"example": "https://api.atlassian.com"},
    )
    jira_server_url: HttpUrl | None = Field(
        None, description="Jira Server/Data Center base URL", json_schema_extra={"example": "https://jira.acme.example"}
    )
    intercom_api_url: HttpUrl = Field(
        HttpUrl("https://api.intercom.io"),
        description="Intercom API",
        json_schema_extra={"example": "https://api.intercom.io"},
    )
    intercom_app_url: HttpUrl = Field(
        HttpUrl("https://app.intercom.com"),
        description="Intercom app (OAuth pages)",
        json_schema_extra={"example": "https://app.intercom.com"},
    )
    jotform_api_url: HttpUrl = Field(
        HttpUrl("https://api.jotform.com"),
        description="Jotform API",
        json_schema_extra={"example": "https://api.jotform.com"},
    )

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


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``; raise ``ConfigError`` naming each bad key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
