"""The gateway's attestation: an HMAC over an answer it built, so a flow can tell a verified Slack
click (or OAuth callback, or deposit) from an answer typed into the Prefect UI or the CLI.

The key lives in Vault under ``<prefix>/gateway/attestation-key``; the gateway creates it on first
start, flows read it to verify. ``rotate_key`` writes a new version and promotes it; flows accept a MAC
made with the current or the previous version, so an answer signed just before a rotation still counts.
A MAC is not a secret: it proves, it does not open anything.
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


def read_keys(custody: Custody) -> list[bytes]:
    """The current key, then the previous one if a rotation kept it (empty when there is no key yet)."""
    path = key_path(custody)
    try:
        state = custody.describe(path)
    except VaultNotFound:
        return []
    keys = []
    for version in (state.current_version, state.previous_version):
        if version is None:
            continue
        try:
            keys.append(custody.read_version(path, version).values["key"].get_secret_value().encode())
        except (VaultNotFound, KeyError):
            continue
    return keys


def rotate_key(custody: Custody, *, rotated_by: str = "operator") -> int:
    """Write a new attestation key and make it current (the previous one kept); returns its version."""
    path = key_path(custody)
    ensure_key(custody)
    state = custody.describe(path)
    staged = custody.stage(
        path, {"key": secrets.token_urlsafe(32)}, expect_version=state.latest_version, staged_by=rotated_by
    )
    custody.promote(path, staged.version, rotated_by=rotated_by)
    return staged.version


def _canonical(fields: Mapping[str, object]) -> bytes:
    return json.dumps({k: str(v) for k, v in fields.items()}, sort_keys=True, separators=(",", ":")).encode()


def sign(key: bytes, fields: Mapping[str, object]) -> str:
    return hmac.new(key, _canonical(fields), hashlib.sha256).hexdigest()


def verify(key: bytes | list[bytes] | None, fields: Mapping[str, object], mac: str) -> bool:
    """True when *mac* was made over *fields* with *key* (or with any of a list of keys)."""
    keys = key if isinstance(key, list) else [key] if key else []
    if not mac:
        return False
    return any(hmac.compare_digest(sign(k, fields), mac) for k in keys if k)
