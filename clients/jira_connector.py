"""The Salesforce-Jira connector's token check, over httpx: which connection an API access token opens.

``GET <jira>/rest/salesforce-connector/1.0/connection`` with ``Authorization: Bearer <API access token>`` is
the call the connector's Salesforce package makes with the token a person pasted into it. Baton makes the
same call to prove a deposited token before promoting it in Vault. Seam: ``transport=``.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from core import redaction
from core.errors import BatonError

API_PATH = "/rest/salesforce-connector/1.0/connection"
RETRYABLE_STATUS = {429, 502, 503, 504}


class JiraConnectorError(BatonError):
    """The connector did not answer usably. ``retryable`` for 429 and 5xx-unavailable."""

    def __init__(self, what: str, status: int, message: str, retry_after: float = 0.0) -> None:
        self.status = status
        self.retryable = status in RETRYABLE_STATUS
        self.retry_after = retry_after
        super().__init__(f"Jira connector {what} failed: HTTP {status}: {message}")


@dataclass(frozen=True)
class ConnectorConnection:
    """What the token opens: the Jira side's connection and the Salesforce user it runs as."""

    connection_id: str
    name: str
    status: str
    salesforce_user_id: str
    salesforce_username: str


class JiraConnectorClient:
    """The connector's REST resource on one Jira (Cloud site or Server base URL)."""

    def __init__(self, base_url: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 15) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraConnectorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connection_for_token(self, token: str) -> ConnectorConnection | None:
        """``GET /rest/salesforce-connector/1.0/connection`` as the package: the connection, or None when the
        connector refuses the token (401: revoked, replaced by a newer Authorize, or never issued)."""
        redaction.register(token)
        try:
            reply = self._http.get(API_PATH, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise JiraConnectorError("token check", 503, f"no answer ({type(exc).__name__})") from None
        if reply.status_code == 401:
            return None
        if reply.status_code != 200:
            try:
                wait = float(reply.headers.get("retry-after", "0"))
            except ValueError:
                wait = 0.0
            raise JiraConnectorError("token check", reply.status_code, reply.reason_phrase, wait)
        data = reply.json()
        return ConnectorConnection(
            connection_id=str(data.get("connectionId", "")),
            name=str(data.get("name", "")),
            status=str(data.get("status", "")),
            salesforce_user_id=str(data.get("salesforceUserId", "")),
            salesforce_username=str(data.get("salesforceUsername", "")),
        )
