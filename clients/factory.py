"""Build clients from settings (no Prefect here: the gateway uses this too)."""

from __future__ import annotations

from pydantic import SecretStr

from baton import redaction
from baton.settings import Settings
from clients.slack import SlackClient
from clients.vault import Custody, VaultAuth, connect


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
