"""The gateway's attestation: an HMAC over an answer it built, so a flow can tell a verified Slack
click (or OAuth callback, or deposit) from an answer typed into the Prefect UI or the CLI.

The key lives in Vault under ``<prefix>/gateway/attestation-key``; the gateway creates it on first
start, flows read it to verify. A MAC is not a secret: it proves, it does not open anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

from clients.vault.custody import Custody
from clients.vault.errors import CustodyConflict, VaultNotFound

KEY_NAME = "gateway/attestation-key"


def key_path(custody: Custody) -> str:
    return f"{custody.prefix}/{KEY_NAME}"


def ensure_key(custody: Custody) -> bytes:
    """Read the attestation key, creating it (stage + promote, check-and-set) if there is none."""
    path = key_path(custody)
    try:
        return custody.read_current(path).values["key"].get_secret_value().encode()
    except VaultNotFound:
        pass
    try:
        staged = custody.stage(path, {"key": secrets.token_urlsafe(32)}, expect_version=0, staged_by="gateway")
        custody.promote(path, staged.version, rotated_by="gateway")
    except CustodyConflict:
        pass  # another gateway made it first
    return custody.read_current(path).values["key"].get_secret_value().encode()


def read_key(custody: Custody) -> bytes | None:
    try:
        return custody.read_current(key_path(custody)).values["key"].get_secret_value().encode()
    except VaultNotFound:
        return None


def _canonical(fields: Mapping[str, object]) -> bytes:
    return json.dumps({k: str(v) for k, v in fields.items()}, sort_keys=True, separators=(",", ":")).encode()


def sign(key: bytes, fields: Mapping[str, object]) -> str:
    return hmac.new(key, _canonical(fields), hashlib.sha256).hexdigest()


def verify(key: bytes | None, fields: Mapping[str, object], mac: str) -> bool:
    if not key or not mac:
        return False
    return hmac.compare_digest(sign(key, fields), mac)
