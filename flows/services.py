"""What flows talk to, built once per process from settings: Slack, Vault custody, links."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydantic import SecretStr

from baton import redaction
from baton.settings import Settings, load_settings
from clients.slack import SlackClient
from clients.vault import Custody, VaultAuth, connect


@dataclass
class Services:
    settings: Settings
    slack: SlackClient | None
    custody: Custody

    def run_url(self, flow_run_id: str) -> str:
        """The run's page in the Prefect UI."""
        base = str(self.settings.prefect_ui_url or str(self.settings.prefect_api_url).rstrip("/").removesuffix("/api"))
        return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}"


def vault_auth(settings: Settings) -> VaultAuth:
    return VaultAuth(
        addr=str(settings.vault_addr).rstrip("/"),
        token=settings.vault_token,
        role_id=settings.vault_role_id,
        secret_id=settings.vault_secret_id,
        approle_mount=settings.vault_approle_mount,
        verify=settings.vault_ca_file or True,
    )


def custody_from(settings: Settings) -> Custody:
    return Custody(connect(vault_auth(settings)), mount=settings.vault_kv_mount, prefix=settings.vault_prefix)


def slack_from(settings: Settings) -> SlackClient | None:
    token: SecretStr | None = settings.slack_bot_token
    if token is None:
        return None
    redaction.register(token.get_secret_value())
    return SlackClient(token.get_secret_value(), str(settings.slack_base_url))


@functools.cache
def services() -> Services:
    settings = load_settings()
    redaction.install()
    return Services(settings=settings, slack=slack_from(settings), custody=custody_from(settings))
