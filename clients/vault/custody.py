"""Custody of one credential per KV v2 path, modelled on AWS Secrets Manager's rotation stages.

A rotation writes a new version with check-and-set (``stage``, recorded as pending), proves it
with a test call, then ``promote``s it to current; the former current becomes previous and is kept
for ``rollback``. The labels live in the path's ``custom_metadata``:
current_version, pending_version, previous_version, rotated_at, rotated_by, flow_run_id.

Versions are never destroyed. ``max_versions`` (default 20) is set on every path, and ``stage``
refuses a write that would push the current or previous version out of Vault's history.
Metadata updates are not check-and-set in KV v2: one rotation per integration at a time is
enforced by the flows' concurrency limit, not here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests
from pydantic import SecretStr

from clients.vault.errors import CustodyInputError, VaultError, VaultNotFound, translate
from core import redaction

DEFAULT_MAX_VERSIONS = 20
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
T = TypeVar("T")


@dataclass(frozen=True)
class StagedSecret:
    """A version written and marked pending: a reference, never the value."""

    path: str
    version: int


@dataclass(frozen=True)
class CurrentSecret:
    """The current version's values, each a SecretStr."""

    path: str
    version: int
    values: dict[str, SecretStr]


@dataclass(frozen=True)
class CustodyState:
    """What ``describe`` tells: labels and version history, no values."""

    path: str
    latest_version: int
    current_version: int | None
    pending_version: int | None
    previous_version: int | None
    rotated_at: str = ""
    rotated_by: str = ""
    flow_run_id: str = ""
    max_versions: int = 0
    deleted_versions: tuple[int, ...] = field(default_factory=tuple)


def _as_int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


class Custody:
    """Stage, promote, roll back and read secrets under one KV v2 mount and path prefix."""

    def __init__(
        self,
        client: hvac.Client,
        *,
        mount: str = "secret",
        prefix: str = "baton",
        max_versions: int = DEFAULT_MAX_VERSIONS,
    ) -> None:
        if max_versions < 3:
            raise CustodyInputError("max_versions must be at least 3 (pending, current and previous)")
        self.client = client
        self.mount = mount.strip("/")
        self.prefix = prefix.strip("/")
        self.max_versions = max_versions

    # -- checks -----------------------------------------------------------------------------
    def check_path(self, path: object, method: str) -> str:
        """The path, or CustodyInputError saying what is wrong and giving an example."""
        example = f"e.g. {self.prefix}/integrations/jira-salesforce/api-token"
        if not isinstance(path, str) or not path.strip():
            raise CustodyInputError(f"the path is empty; give one under '{self.prefix}/', {example}", method=method)
        if not path.startswith(self.prefix + "/"):
            raise CustodyInputError(
                f"the path is outside Baton's prefix; it must start with '{self.prefix}/', {example}",
                method=method,
                path=path,
            )
        for segment in path.split("/"):
            if not _SEGMENT.match(segment):
                raise CustodyInputError(
                    f"path segment {segment!r} is not allowed; use letters, digits, '.', '_' and '-', {example}",
                    method=method,
                    path=path,
                )
        return path

    @staticmethod
    def check_secret(secret: object, method: str, path: str) -> dict[str, str]:
        if not isinstance(secret, Mapping) or not secret:
            raise CustodyInputError(
                "the secret must be a non-empty mapping of strings to strings, e.g. {'api_token': '...'}",
                method=method,
                path=path,
            )
        for key, value in secret.items():
            if not isinstance(key, str) or not key:
                raise CustodyInputError("every key of the secret must be a non-empty string", method=method, path=path)
            if not isinstance(value, str):
                raise CustodyInputError(
                    f"the value of key {key!r} is a {type(value).__name__}, not a string", method=method, path=path
                )
        return dict(secret)

    # -- Vault calls --------------------------------------------------------------------------
    def _call(self, method: str, path: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise translate(exc, method=method, path=path, addr=str(self.client.url)) from None

    def _metadata(self, method: str, path: str) -> dict[str, Any] | None:
        try:
            reply = self.client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=self.mount)
        except hvac.exceptions.InvalidPath:
            return None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise translate(exc, method=method, path=path, addr=str(self.client.url)) from None
        data: dict[str, Any] = reply["data"]
        return data

    def _require_metadata(self, method: str, path: str) -> dict[str, Any]:
        meta = self._metadata(method, path)
        if meta is None:
            raise VaultNotFound("no secret at this path; stage one first", method=method, path=path)
        return meta

    def _write_labels(self, method: str, path: str, custom: dict[str, str]) -> None:
        # Vault refuses empty values; a label that is cleared is left out (POST replaces the whole map).
        custom = {k: v for k, v in custom.items() if v}
        self._call(
            method,
            path,
            lambda: self.client.secrets.kv.v2.update_metadata(
                path=path,
                max_versions=self.max_versions,
                cas_required=True,
                custom_metadata=custom,
                mount_point=self.mount,
            ),
        )

    @staticmethod
    def _state(path: str, meta: dict[str, Any]) -> CustodyState:
        custom: dict[str, str] = meta.get("custom_metadata") or {}
        versions: dict[str, dict[str, Any]] = meta.get("versions") or {}
        deleted = tuple(
            sorted(int(v) for v, info in versions.items() if info.get("deletion_time") or info.get("destroyed"))
        )
        return CustodyState(
            path=path,
            latest_version=int(meta.get("current_version") or 0),
            current_version=_as_int(custom.get("current_version")),
            pending_version=_as_int(custom.get("pending_version")),
            previous_version=_as_int(custom.get("previous_version")),
            rotated_at=custom.get("rotated_at", ""),
            rotated_by=custom.get("rotated_by", ""),
            flow_run_id=custom.get("flow_run_id", ""),
            max_versions=int(meta.get("max_versions") or 0),
            deleted_versions=deleted,
        )

    # -- the custody operations -----------------------------------------------------------------
    def stage(
        self,
        path: str,
        secret: Mapping[str, str],
        *,
        expect_version: int,
        staged_by: str = "",
        flow_run_id: str = "",
    ) -> StagedSecret:
        """Write *secret* as a new version if the latest version is still *expect_version* (0: new path).

        Calls ``POST <mount>/data/<path>`` with ``cas``, then records the version as pending in the
        metadata. Raises CustodyConflict when another writer got there first.
        """
        method = "stage"
        path = self.check_path(path, method)
        values = self.check_secret(secret, method, path)
        if not isinstance(expect_version, int) or isinstance(expect_version, bool) or expect_version < 0:
            raise CustodyInputError(
                "expect_version must be the latest version you read (0 for a new path)", method=method, path=path
            )
        redaction.register(*values.values())
        meta = self._metadata(method, path)
        if meta is not None:
            state = self._state(path, meta)
            keep = [v for v in (state.current_version, state.previous_version) if v]
            if keep and state.latest_version + 1 - self.max_versions >= min(keep):
                raise CustodyInputError(
                    f"staging another version would push version {min(keep)} out of Vault's history "
                    f"(max_versions={self.max_versions}); promote or discard the pending version first",
                    method=method,
                    path=path,
                )
        reply = self._call(
            method,
            path,
            lambda: self.client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=values, cas=expect_version, mount_point=self.mount
            ),
        )
        version = int(reply["data"]["version"])
        custom = dict((self._require_metadata(method, path).get("custom_metadata")) or {})
        custom.update(pending_version=str(version), staged_by=staged_by, staged_flow_run_id=flow_run_id)
        self._write_labels(method, path, custom)
        return StagedSecret(path=path, version=version)

    def promote(self, path: str, version: int, *, rotated_by: str = "", flow_run_id: str = "") -> CustodyState:
        """Make *version* current and the former current previous. Promoting the current version again is a no-op."""
        method = "promote"
        path = self.check_path(path, method)
        meta = self._require_metadata(method, path)
        state = self._state(path, meta)
        if state.current_version == version:
            return state
        info = (meta.get("versions") or {}).get(str(version))
        if info is None:
            raise VaultNotFound(f"version {version} does not exist", method=method, path=path)
        if version in state.deleted_versions:
            raise VaultNotFound(f"version {version} was deleted; stage a new one", method=method, path=path)
        custom = dict(meta.get("custom_metadata") or {})
        custom.update(
            current_version=str(version),
            previous_version=str(state.current_version or ""),
            pending_version="" if state.pending_version == version else str(state.pending_version or ""),
            rotated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            rotated_by=rotated_by,
            flow_run_id=flow_run_id,
        )
        self._write_labels(method, path, custom)
        return self.describe(path)

    def rollback(self, path: str) -> CustodyState:
        """Make the previous version current again (the one it replaced is recorded as rolled_back_from)."""
        method = "rollback"
        path = self.check_path(path, method)
        meta = self._require_metadata(method, path)
        state = self._state(path, meta)
        if state.previous_version is None:
            raise VaultNotFound("there is no previous version to roll back to", method=method, path=path)
        if state.previous_version in state.deleted_versions:
            raise VaultNotFound(f"previous version {state.previous_version} was deleted", method=method, path=path)
        custom = dict(meta.get("custom_metadata") or {})
        custom.update(
            current_version=str(state.previous_version),
            previous_version="",
            rolled_back_from=str(state.current_version or ""),
            rotated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        self._write_labels(method, path, custom)
        return self.describe(path)

    def discard_pending(self, path: str) -> CustodyState:
        """Soft-delete the pending version (recoverable by an operator) and clear the label. Idempotent."""
        method = "discard_pending"
        path = self.check_path(path, method)
        meta = self._require_metadata(method, path)
        state = self._state(path, meta)
        pending = state.pending_version
        if pending is None:
            return state
        if pending not in (state.current_version, state.previous_version):
            self._call(
                method,
                path,
                lambda: self.client.secrets.kv.v2.delete_secret_versions(
                    path=path, versions=[pending], mount_point=self.mount
                ),
            )
        custom = dict(meta.get("custom_metadata") or {})
        custom["pending_version"] = ""
        self._write_labels(method, path, custom)
        return self.describe(path)

    def read_current(self, path: str) -> CurrentSecret:
        """The current version's values as SecretStr (``GET <mount>/data/<path>?version=<current>``)."""
        method = "read_current"
        path = self.check_path(path, method)
        state = self.describe(path)
        if state.current_version is None:
            raise VaultNotFound("no current version yet; stage a version and promote it", method=method, path=path)
        return self.read_version(path, state.current_version, method=method)

    def read_version(self, path: str, version: int, *, method: str = "read_version") -> CurrentSecret:
        """One version's values (used to verify a pending credential before promoting it)."""
        path = self.check_path(path, method)
        reply = self._call(
            method,
            path,
            lambda: self.client.secrets.kv.v2.read_secret_version(
                path=path, version=version, mount_point=self.mount, raise_on_deleted_version=True
            ),
        )
        data: dict[str, str] = reply["data"]["data"] or {}
        redaction.register(*data.values())
        return CurrentSecret(path=path, version=version, values={k: SecretStr(v) for k, v in data.items()})

    def describe(self, path: str) -> CustodyState:
        """Labels and version history of *path*, without values (``GET <mount>/metadata/<path>``)."""
        method = "describe"
        path = self.check_path(path, method)
        return self._state(path, self._require_metadata(method, path))


__all__ = ["CurrentSecret", "Custody", "CustodyState", "StagedSecret", "VaultError"]
