"""Salesforce's Metadata API through simple-salesforce's own ``sf.mdapi`` (zeep over the metadata WSDL it
ships): read, create and update Profile and ConnectedApp components as plain dicts, with typed errors.

Seam: zeep makes its own ``requests.Session`` (which honours ``REQUESTS_CA_BUNDLE`` and knows nothing of a
sandbox's CA); its transport is given Baton's session instead.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.transports import Transport

from clients.salesforce import SalesforceClient, SalesforceError

# The metadata names of standard profiles differ from their labels.
STANDARD_PROFILES = {"System Administrator": "Admin", "Standard User": "Standard"}
METADATA_PERMISSIONS = "ModifyAllData or ModifyMetadata"
_SAVE_ERROR = re.compile(r"\((\w+), ([^)]*)\)")


def profile_full_name(name: str) -> str:
    return STANDARD_PROFILES.get(name, name)


class MetadataClient:
    """One Metadata API connection, on the session of an authenticated ``Salesforce``."""

    def __init__(self, sf: Salesforce, session: requests.Session, owner: SalesforceClient | None = None) -> None:
        """*owner*: the client whose ``sf`` this is; when it can log in again (client credentials), a call answered
        INVALID_SESSION_ID is retried once on a new session (``SalesforceClient.renewing``)."""
        self._md = sf.mdapi
        self._md._client.transport = Transport(session=session)  # type: ignore[no-untyped-call]
        self._owner = owner

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        if self._owner is None:
            return self._once(what, fn, *args)
        return self._owner.renewing(f"Metadata API {what}", lambda: self._once(what, fn, *args))

    def _once(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Fault as fault:
            code = str(fault.code or "UNKNOWN").rpartition(":")[2]
            raise SalesforceError(f"Metadata API {what}", code, str(fault.message), 500) from None
        except requests.RequestException as exc:
            raise SalesforceError(f"Metadata API {what}", "SERVER_UNAVAILABLE", type(exc).__name__, 503) from None
        except Exception as exc:  # noqa: BLE001 - simple-salesforce raises a bare Exception for failed SaveResults
            found = _SAVE_ERROR.search(str(exc))
            code, message = found.groups() if found else ("UNKNOWN", str(exc).strip())
            raise SalesforceError(f"Metadata API {what}", code, message) from None

    def read(self, kind: str, full_name: str) -> dict[str, Any] | None:
        """``readMetadata``: the component as a dict, or None when the org has none by that name."""
        record = self._call(f"read {kind}", getattr(self._md, kind).read, [full_name])
        data = serialize_object(record, dict) if record is not None else None  # type: ignore[no-untyped-call]
        if not isinstance(data, dict) or not data.get("fullName"):
            return None
        return data

    def _component(self, kind: str, data: dict[str, Any]) -> Any:
        return getattr(self._md, kind)(**{k: v for k, v in data.items() if v is not None})

    def create(self, kind: str, data: dict[str, Any]) -> None:
        self._call(f"create {kind}", getattr(self._md, kind).create, [self._component(kind, data)])

    def update(self, kind: str, data: dict[str, Any]) -> None:
        self._call(f"update {kind}", getattr(self._md, kind).update, [self._component(kind, data)])
