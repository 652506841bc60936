"""Vault errors as Baton's own types: Vault's message, the method and the path — never the secret."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import hvac.exceptions
import requests

from core.errors import BatonError

T = TypeVar("T")


class VaultError(BatonError):
    """A Vault call failed. ``method`` is the custody operation, ``path`` the logical secret path."""

    def __init__(
        self, message: str, *, method: str = "", path: str = "", vault_errors: list[str] | None = None
    ) -> None:
        self.method = method
        self.path = path
        self.reason = message
        self.vault_errors = list(vault_errors or [])
        where = f"{method} {path}".strip()
        said = f" Vault said: {'; '.join(self.vault_errors)}." if self.vault_errors else ""
        super().__init__(f"{where}: {message}.{said}" if where else f"{message}.{said}")

    def advised(self, advice: str) -> VaultError:
        """The same error (type, method, path, Vault's words) with *advice* after the reason: what to do now."""
        reason = f"{self.reason}. {advice}"
        return type(self)(reason, method=self.method, path=self.path, vault_errors=self.vault_errors)


class CustodyInputError(VaultError, ValueError):
    """Bad input to a custody call; nothing was written."""


class CustodyConflict(VaultError):
    """Another writer changed the path first (check-and-set lost); re-read and retry."""


class VaultNotFound(VaultError):
    """The path, version or custody label does not exist."""


class VaultPermissionDenied(VaultError):
    """Vault refused: the token's policy does not allow this path (403)."""


class VaultAuthError(VaultError):
    """Login failed (bad token, wrong AppRole role_id/secret_id)."""


class VaultUnreachable(VaultError):
    """No answer from Vault's address."""

    retryable = True


class VaultBusy(VaultError):
    """Vault answered 429 or 5xx (sealed, standby, overloaded): worth trying again shortly."""

    retryable = True


def _vault_messages(exc: hvac.exceptions.VaultError) -> list[str]:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors:
        return [str(e) for e in errors]
    text = str(exc).split(", on ")[0]
    return [text] if text and text != "None" else []


def translate(exc: Exception, *, method: str, path: str, addr: str = "") -> VaultError:
    """Map an hvac/requests exception to Baton's type, keeping Vault's own words."""
    said = _vault_messages(exc) if isinstance(exc, hvac.exceptions.VaultError) else []
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return VaultUnreachable(
            f"cannot reach Vault at {addr or 'the configured address'}; is it running? check BATON_VAULT_ADDR",
            method=method,
            path=path,
        )
    if isinstance(exc, hvac.exceptions.Forbidden):
        return VaultPermissionDenied(
            "permission denied; the token's policy does not cover this path (see deployments/vault/baton-flows.hcl)",
            method=method,
            path=path,
            vault_errors=said,
        )
    if isinstance(exc, hvac.exceptions.InvalidPath):
        return VaultNotFound("no such secret or mount", method=method, path=path, vault_errors=said)
    if isinstance(exc, hvac.exceptions.InvalidRequest) and any("check-and-set" in s for s in said):
        return CustodyConflict(
            "another writer staged a version first (check-and-set lost); re-read describe() and retry",
            method=method,
            path=path,
            vault_errors=said,
        )
    if isinstance(
        exc,
        hvac.exceptions.InternalServerError
        | hvac.exceptions.VaultDown
        | hvac.exceptions.BadGateway
        | hvac.exceptions.RateLimitExceeded,
    ):
        return VaultBusy("Vault is busy or sealed; try again shortly", method=method, path=path, vault_errors=said)
    if isinstance(exc, hvac.exceptions.Unauthorized):
        return VaultAuthError("Vault rejected the token", method=method, path=path, vault_errors=said)
    return VaultError(f"Vault call failed ({type(exc).__name__})", method=method, path=path, vault_errors=said)


def retrying(call: Callable[[], T], *, delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> T:
    """*call*, tried again after each of *delays* while Vault is unreachable or busy (then the last error)."""
    for delay in delays:
        try:
            return call()
        except (VaultUnreachable, VaultBusy):
            time.sleep(delay)
    return call()
