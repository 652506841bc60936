"""Build clients from settings (no Prefect here: the gateway uses this too)."""

from __future__ import annotations

from pydantic import SecretStr

from clients.prefect_api import PrefectAPI, auth_string_from_env
from clients.slack import SlackClient
from clients.vault import Custody, VaultAuth, connect
from core import redaction
from core.settings import Settings


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


def prefect_api_from(settings: Settings) -> PrefectAPI:
    """Prefect's REST API as the settings say (HTTP Basic from BATON_PREFECT_API_AUTH_STRING or Prefect's own)."""
    auth = settings.prefect_api_auth_string
    if auth is not None:
        redaction.register(auth.get_secret_value())
    return PrefectAPI(
        str(settings.prefect_api_url), auth_string=auth.get_secret_value() if auth else auth_string_from_env()
    )
