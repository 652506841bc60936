"""Log in to Vault with a token (dev) or AppRole (deployments), over hvac."""

from __future__ import annotations

from dataclasses import dataclass

import hvac
import hvac.exceptions
import requests
from pydantic import SecretStr

from clients.vault.errors import VaultAuthError, translate
from core import redaction


@dataclass(frozen=True)
class VaultAuth:
    """How to reach and log in to Vault. Exactly one of token, or role_id + secret_id."""

    addr: str
    token: SecretStr | None = None
    role_id: str | None = None
    secret_id: SecretStr | None = None
    approle_mount: str = "approle"
    verify: bool | str = True


def connect(auth: VaultAuth, *, session: requests.Session | None = None) -> hvac.Client:
    """An authenticated hvac client. Raises VaultAuthError / VaultUnreachable with what to fix."""
    client = hvac.Client(url=auth.addr, verify=auth.verify, session=session)
    if auth.token is not None:
        redaction.register(auth.token.get_secret_value())
        client.token = auth.token.get_secret_value()
        try:
            client.auth.token.lookup_self()
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            err = translate(exc, method="login", path="auth/token/lookup-self", addr=auth.addr)
            if isinstance(exc, hvac.exceptions.Forbidden):
                err = VaultAuthError(
                    "Vault rejected the token (expired or revoked?); set a valid BATON_VAULT_TOKEN",
                    method="login",
                    path="auth/token",
                    vault_errors=err.vault_errors,
                )
            raise err from None
        return client
    if not (auth.role_id and auth.secret_id):
        raise VaultAuthError("no Vault credentials: give a token, or an AppRole role_id and secret_id", method="login")
    redaction.register(auth.secret_id.get_secret_value())
    try:
        reply = client.auth.approle.login(
            role_id=auth.role_id, secret_id=auth.secret_id.get_secret_value(), mount_point=auth.approle_mount
        )
    except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
        err = translate(exc, method="login", path=f"auth/{auth.approle_mount}/login", addr=auth.addr)
        if isinstance(exc, hvac.exceptions.InvalidRequest | hvac.exceptions.Forbidden):
            err = VaultAuthError(
                f"AppRole login failed for role_id {auth.role_id}; check BATON_VAULT_ROLE_ID and "
                "BATON_VAULT_SECRET_ID (a secret_id may have expired or been used up)",
                method="login",
                path=f"auth/{auth.approle_mount}/login",
                vault_errors=err.vault_errors,
            )
        raise err from None
    token = reply["auth"]["client_token"]
    redaction.register(token)
    client.token = token
    return client
