"""One-time tickets kept in Vault: a deposit link or an OAuth start, bound to one run, step and path.

The ticket itself (an unguessable token) is only in the link given to the person; Vault keeps the
record under the token's SHA-256, so listing Vault reveals no usable ticket; an OAuth state's record names
its ticket by that hash too, never by the token. Single use is Vault's
check-and-set: consuming writes version 2 with ``cas=1``, and a second consumer loses that race.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Literal

import hvac.exceptions
import requests

from clients.vault.custody import Custody
from clients.vault.errors import VaultError, translate

_HEX64 = re.compile(r"[0-9a-f]{64}")
Purpose = Literal["deposit", "oauth", "oauth-state", "reveal"]


class TicketInvalid(VaultError):
    """Unknown, expired or already used; the message says which, never the ticket."""


@dataclass(frozen=True)
class Ticket:
    purpose: str
    run: str
    step: str
    vault_path: str
    field: str
    label: str
    provider: str
    expires_at: str
    used: str = ""
    extra: str = ""  # for an OAuth state: the PKCE verifier's Vault-held value

    @property
    def expired(self) -> bool:
        return dt.datetime.now(dt.UTC) >= dt.datetime.fromisoformat(self.expires_at)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TicketStore:
    def __init__(self, custody: Custody, *, ttl_seconds: int = 3600) -> None:
        self.custody = custody
        self.ttl = ttl_seconds

    def _path(self, token: str, *, hashed: bool = False) -> str:
        return f"{self.custody.prefix}/gateway/tickets/{token if hashed else _digest(token)}"

    def _write(self, path: str, data: dict[str, str], cas: int) -> None:
        try:
            self.custody.client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=data, cas=cas, mount_point=self.custody.mount
            )
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            err = translate(exc, method="ticket", path=path)
            if "check-and-set" in str(err):
                raise TicketInvalid("this link was already used", method="ticket") from None
            raise err from None

    def issue(
        self,
        purpose: Purpose,
        *,
        run: str,
        step: str,
        vault_path: str = "",
        field: str = "",
        label: str = "",
        provider: str = "",
        extra: str = "",
    ) -> str:
        """A new ticket token; its record goes into Vault (``cas=0``)."""
        if vault_path:
            self.custody.check_path(vault_path, "ticket")
        token = secrets.token_urlsafe(32)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.ttl)
        ticket = Ticket(
            purpose=purpose, run=run, step=step, vault_path=vault_path, field=field, label=label,
            provider=provider, expires_at=expires.isoformat(timespec="seconds"), extra=extra,
        )  # fmt: skip
        self._write(self._path(token), asdict(ticket), cas=0)
        return token

    def issue_state(self, state: str, *, ticket_token: str, provider: str, verifier: str) -> None:
        """Record an OAuth state: bound to its ticket (the ticket's SHA-256 in ``label``; peek and consume it
        with ``hashed=True``), holding the PKCE verifier."""
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=min(self.ttl, 900))
        record = Ticket(
            purpose="oauth-state", run="", step="", vault_path="", field="", label=_digest(ticket_token),
            provider=provider, expires_at=expires.isoformat(timespec="seconds"), extra=verifier,
        )  # fmt: skip
        self._write(self._path(state), asdict(record), cas=0)

    def peek(self, token: str, purpose: Purpose, *, hashed: bool = False) -> Ticket:
        """The ticket if it is valid for *purpose*; TicketInvalid otherwise. Changes nothing. *hashed*: *token*
        is the ticket's SHA-256 (as an OAuth state's record holds it)."""
        if not token or len(token) > 200 or (hashed and not _HEX64.fullmatch(token)):
            raise TicketInvalid("this link is not valid", method="ticket")
        path = self._path(token, hashed=hashed)
        try:
            reply = self.custody.client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.custody.mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            raise TicketInvalid("this link is not valid", method="ticket") from None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise translate(exc, method="ticket", path=path) from None
        data = reply["data"]["data"]
        ticket = Ticket(**{k: str(v) for k, v in data.items() if k in Ticket.__dataclass_fields__})
        if ticket.purpose != purpose:
            raise TicketInvalid("this link is not valid here", method="ticket")
        if ticket.used or int(reply["data"]["metadata"]["version"]) > 1:
            raise TicketInvalid("this link was already used", method="ticket")
        if ticket.expired:
            raise TicketInvalid("this link has expired; ask Baton for a new one", method="ticket")
        return ticket

    def consume(self, token: str, purpose: Purpose, *, hashed: bool = False) -> Ticket:
        """Mark the ticket used (check-and-set: exactly one caller wins) and return it."""
        ticket = self.peek(token, purpose, hashed=hashed)
        used = asdict(ticket) | {"used": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        self._write(self._path(token, hashed=hashed), used, cas=1)
        return ticket
